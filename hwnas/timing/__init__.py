"""Timing on the device: the protocol, the speed reference and the runtimes, in one place.

One entry point times deployed models: ``time_models(modules, inputs, reference, timing)``
(``hwnas.timing.models``), used by the LUT profile's runtime prior and fit networks
(``lut.graph_fit``), ``lut.validate`` / ``lut.calibrate`` (``time_networks``: random
networks of a space deployed in a target) and ``childnet.measure``. LUT-specific timing
(what to time per layer, in place or alone: ``lut.protocol``; the fit: ``lut.graph_fit``)
lives in ``lut`` and uses the same pieces.

- ``settings``: ``TimingProtocol`` (threads, warm-up, repeats, rounds) and the defaults:
  ``LUT_TIMING`` for LUT entries, ``MODEL_TIMING`` (+ the quiet check ``MAX_REL_IQR``,
  ``TRIES``) for every whole-model timing; imports only the standard library.
- ``protocol``: fixed threads, steady allocator, timed calls, median + IQR, metered energy.
- ``speed``: the speed reference and interleaved shuffled rounds against it.
- ``models``: the entry point (``time_models``, ``time_networks``) and the quiet check
  (``quietest``: noisy models timed again, the quietest try kept).
- ``runtime``: load and run a deployed program (ExecuTorch, ONNX Runtime).
- ``lower`` / ``programs``: lower a network to its runtime's file; programs lowered once
  and cached.

The deployment target itself (runtime + precision) is ``hwnas.target``: configs, the web
app and reports read it without torch. Everything here imports torch, the standard library
and ``hwnas`` basics only (the runtimes and tqdm lazily): it runs on a Raspberry Pi.
"""

from hwnas.timing.models import MIN_SAMPLE_MS, quietest, time_models, time_networks
from hwnas.timing.protocol import Timing, fixed_threads, metered_energy, steady_allocator
from hwnas.timing.runtime import load_program, read_program
from hwnas.timing.settings import LUT_TIMING, MAX_REL_IQR, MODEL_TIMING, TRIES, TimingProtocol, timing_kwargs
from hwnas.timing.speed import REFERENCE_SEED, SpeedReference, sample_archs

__all__ = [
    "LUT_TIMING",
    "MAX_REL_IQR",
    "MIN_SAMPLE_MS",
    "MODEL_TIMING",
    "REFERENCE_SEED",
    "TRIES",
    "SpeedReference",
    "Timing",
    "TimingProtocol",
    "fixed_threads",
    "load_program",
    "metered_energy",
    "quietest",
    "read_program",
    "sample_archs",
    "steady_allocator",
    "time_models",
    "time_networks",
    "timing_kwargs",
]
