"""The meter flags shared by ``lut.profile`` and ``childnet.measure``: ``--meter NAME``,
and for an end-to-end check without the device ``--meter-replay FILE`` (a recording,
``hwnas.meters.replay``) with ``--meter-replay-speed X``."""

from __future__ import annotations

from hwnas.meters import METERS

__all__ = ["add_meter_flags", "meter_kwargs"]


def add_meter_flags(p) -> None:
    # no argparse choices: an unknown meter is get_meter's one line, not a usage message
    p.add_argument("--meter", default="none", help=f"energy meter: {' | '.join(METERS)} (default: none)")
    p.add_argument(
        "--meter-replay",
        default=None,
        metavar="FILE",
        help="pmic | fnirsi | um: replay this recording of the device instead of reading it "
        "(energy_source replay:<meter>; for checks, never a measurement)",
    )
    p.add_argument(
        "--meter-replay-speed",
        type=float,
        default=1.0,
        metavar="X",
        help="play the recording X times faster (its rate x X samples/s; default 1)",
    )


def meter_kwargs(args) -> dict:
    """The keyword arguments of ``lut.profile.profile_lut`` / ``childnet.measure.measure_files``."""
    return {"meter": args.meter, "meter_replay": args.meter_replay, "meter_replay_speed": args.meter_replay_speed}
