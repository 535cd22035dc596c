"""One spelling of a device (``hwnas.device_name``): ``local`` is this host, any other name
the Ray resource of a device's node; the old ``ray:<resource>`` still works on the command
line with one deprecation line, and a config refuses it in one line."""

import re

import pytest

from hwnas import keys
from hwnas.config import load_config
from hwnas.device_name import device_resource, is_local
from hwnas.errors import UserError


@pytest.fixture(autouse=True)
def _nothing_told(monkeypatch):
    monkeypatch.setattr(keys, "_TOLD", set())  # each test sees its own first deprecation line


def test_local_is_this_host_and_any_other_name_a_ray_resource(capsys):
    assert device_resource("local") is None
    assert device_resource("rpi4") == "rpi4"
    assert device_resource("jetson-orin_1") == "jetson-orin_1"
    assert (is_local("local"), is_local("rpi4")) == (True, False)
    assert capsys.readouterr().err == "", "the current spelling is silent"


def test_the_old_spelling_means_the_resource_with_one_deprecation_line(capsys):
    assert device_resource("ray:rpi4") == "rpi4"
    assert device_resource("ray:rpi4") == "rpi4"  # asked twice: told once
    assert capsys.readouterr().err.splitlines() == ["--device ray:rpi4 is deprecated, read as rpi4; use --device rpi4"]


@pytest.mark.parametrize(
    "device, message",
    [
        ("", "expected local (this host) or the Ray resource of a device's node, e.g. rpi4"),
        ("ray:", "expected local (this host) or the Ray resource"),
        ("rpi 4", "expected local (this host) or the Ray resource"),
        ("ray:local", "a Ray resource named local cannot be meant (local is this host)"),
    ],
)
def test_a_name_that_cannot_be_a_device_is_one_line(device, message):
    with pytest.raises(UserError, match=re.escape(message)) as err:
        device_resource(device)
    assert str(err.value).startswith(f"--device {device!r}: ")
    assert "\n" not in str(err.value)


def test_a_config_names_the_device_by_its_resource_alone(capsys):
    assert load_config(None, ["measure.device=rpi4"]).measure.device == "rpi4"
    assert load_config(None, []).measure.device == "local"
    with pytest.raises(UserError, match=r"measure.device 'ray:rpi4': name the device by its Ray resource alone: rpi4"):
        load_config(None, ["measure.device=ray:rpi4"])
    with pytest.raises(UserError, match=r"measure.device '': expected local \(this host\)"):
        load_config(None, ["measure.device=''"])
    assert capsys.readouterr().err == ""
