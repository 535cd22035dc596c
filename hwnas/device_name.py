"""One spelling of a device, the rule every command and file that names one follows
(``lut.profile --device``, the config's ``measure.device``, sweep.json's ``device``):

- ``local``: this host (the machine the command runs on; in a sweep, the node its trials
  run on, measured in the quiet measurement phase);
- any other name: the Ray custom resource the device's node offers (``ray start ...
  --resources='{"rpi4": 1}'``), e.g. ``rpi4``; work for the device is a Ray task needing
  one unit of it. A resource literally named ``local`` therefore cannot be meant.

The old ``lut.profile`` spelling ``ray:<resource>`` still means the resource, with one
deprecation line on stderr; a config never accepted it (``measure.device: ray:rpi4``
named a resource ``ray:rpi4``), so there it is refused in one line. Torch-free.
"""

from __future__ import annotations

from hwnas.errors import UserError
from hwnas.keys import deprecated

__all__ = ["LOCAL", "device_resource", "is_local"]

LOCAL = "local"
OLD_PREFIX = "ray:"  # lut.profile --device ray:<resource> before the name alone was the spelling


def device_resource(device: str, what: str = "--device", *, old_spelling: bool = True) -> str | None:
    """The Ray resource ``device`` names, or None for ``local`` (this host). ``what`` (the
    flag or config key) names it in the deprecation line and in the one-line error for a
    name that is blank, holds a space, or (``old_spelling`` False) carries the old prefix."""
    if device == LOCAL:
        return None
    name = device
    if isinstance(device, str) and device.startswith(OLD_PREFIX):
        name = device[len(OLD_PREFIX) :]
        if not old_spelling:
            raise UserError(f"{what} {device!r}: name the device by its Ray resource alone: {name or '<resource>'}")
    if name == LOCAL:  # ray:local
        raise UserError(f"{what} {device!r}: a Ray resource named local cannot be meant (local is this host)")
    if not isinstance(name, str) or not name or name != "".join(name.split()):
        raise UserError(
            f"{what} {device!r}: expected local (this host) or the Ray resource of a device's node, e.g. rpi4"
        )
    if name != device:
        deprecated(f"{what} {device} is deprecated, read as {name}; use {what} {name}", (what, device))
    return name


def is_local(device: str) -> bool:
    """Whether ``device`` is this host; a ``measure.device``, checked once when its config
    loaded (``device_resource`` in ``hwnas.config_rules``), not again at every use."""
    return device == LOCAL
