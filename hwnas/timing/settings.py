"""How many calls, threads and rounds a timing session uses: ``TimingProtocol`` and
the two defaults every caller takes its numbers from.

``LUT_TIMING`` is a LUT profile's (``lut.profile``); ``MODEL_TIMING`` is the one
whole-model default: childnets and baselines (``childnet.measure``, config section
``measure``: ``hwnas.config_sections.MeasureConfig``) and the networks
``lut.validate`` ranks. ``MAX_REL_IQR`` and ``TRIES`` are its quiet check: a
whole-model timing with a larger relative IQR is noisy (timed again, up to
``TRIES`` times, in ``childnet.measure``; flagged in ``lut.validate``'s report).

Plain numbers (standard library only): configs and CLIs take their defaults from here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["LUT_TIMING", "MAX_REL_IQR", "MODEL_TIMING", "TRIES", "TimingProtocol", "timing_kwargs"]


@dataclass(frozen=True)
class TimingProtocol:
    """How a session times its units: ``threads`` torch threads, ``warmup`` untimed
    calls per unit and warm-up round, ``repeats`` timed samples per unit spread over
    ``rounds`` shuffled passes. The defaults are a LUT profile's (``LUT_TIMING``);
    whole models get more samples (``MODEL_TIMING``)."""

    threads: int = 1
    warmup: int = 10
    repeats: int = 90
    rounds: int = 6

    @property
    def per_round(self) -> int:
        """Samples per unit in one visit (every round visits each unit once)."""
        return max(1, self.repeats // self.rounds)

    def record(self) -> dict:
        """The four numbers under their own names (a LUT's ``protocol`` block, the
        keyword arguments of ``lut.profile.profile_lut`` and ``childnet.measure``)."""
        return asdict(self)


def timing_kwargs(args) -> dict:
    """The timing flags (``--threads --warmup --repeats --rounds``) of a parsed command
    line, as keyword arguments."""
    return {f.name: getattr(args, f.name) for f in fields(TimingProtocol)}


LUT_TIMING = TimingProtocol()
# Whole models (childnets, baselines, lut.validate's networks) get more samples than a
# LUT entry: they are ranked only 1-2 % apart, and measurement noise, not the LUT's,
# dominated validation scores here (two LUTs profiled an hour apart ranked 50 networks
# alike to tau 0.98; two measurements of them to 0.93). Measured here (50 fbnet-cifar
# networks measured twice): 90 calls in 6 rounds agreed to 1.5 % (median), 270 in 18
# rounds to 0.99 % (mean; tau 0.931), 450 in 30 rounds to 0.85 % (tau 0.936). Those
# were single calls; a sample is now the mean of calls lasting >= MIN_SAMPLE_MS
# (hwnas.timing.models), so 150 samples in 30 rounds hold several times more calls.
MODEL_TIMING = TimingProtocol(repeats=150, rounds=30)
MAX_REL_IQR = 0.05  # a whole-model median with a larger relative IQR is noisy
TRIES = 3  # timings of a noisy model at most; the quietest is kept
