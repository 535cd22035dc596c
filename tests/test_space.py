"""Every preset: layer counts, shapes, hashes, networks."""

import pytest
import torch

from hwnas.errors import UserError
from hwnas.network import build_network
from hwnas.space import FBNET_OPS, PRESETS, get_space

pytestmark = pytest.mark.usefixtures("one_thread")


def test_fbnet_cifar_is_hw_nas_bench_setting():
    space = get_space("fbnet-cifar")
    assert space.num_layers == 22
    assert space.num_classes == 100
    assert space.head_channels == 1504
    assert space.input_shape == (3, 32, 32)
    assert [l.out_channels for l in space.layers] == [16] + [24] * 4 + [32] * 4 + [64] * 4 + [112] * 4 + [184] * 4 + [
        352
    ]
    assert [l.stride for l in space.layers].count(2) == 3
    assert space.layers[-1].out_hw == 4


def test_fbnet_imagenet_layers():
    space = get_space("fbnet-imagenet")
    assert space.num_layers == 22
    assert space.layers[0].in_hw == 112
    assert space.layers[-1].out_hw == 7
    assert space.num_classes == 1000
    assert space.head_channels == 1984


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_builds_and_runs(preset):
    space = get_space(preset, width=0.25, num_classes=10)
    assert space.ops == FBNET_OPS
    net = build_network(space, ["k3_e1"] * space.num_layers)
    c, h, w = space.input_shape
    if h > 64:
        h = w = 64  # the network is fully convolutional up to the global pool
    out = net(torch.randn(2, c, h, w))
    assert out.shape == (2, 10)


def test_width_scales_channels_to_multiples_of_8():
    space = get_space("fbnet-cifar", width=0.5)
    assert all(l.out_channels % 8 == 0 for l in space.layers)
    assert space.layers[-1].out_channels == 176


def test_hashes():
    a, b = get_space("fbnet-cifar"), get_space("fbnet-cifar", num_classes=10)
    assert a.layers_hash() == b.layers_hash()
    assert a.hash() != b.hash()
    assert a.layers_hash() != get_space("fbnet-cifar", width=0.5).layers_hash()


def test_identical_shapes_share_a_key():
    space = get_space("fbnet-cifar")
    assert len({l.shape_key for l in space.layers}) == 12


def test_unknown_preset_is_one_line():
    with pytest.raises(UserError, match="unknown search space 'nope'") as err:
        get_space("nope")
    assert "\n" not in str(err.value)


def test_bad_arch():
    space = get_space("fbnet-cpu")
    with pytest.raises(UserError, match="expected 8 ops"):
        space.check_arch(["k3_e1"] * 3)
    with pytest.raises(UserError, match="unknown op 'k9_e9'"):
        space.check_arch(["k9_e9"] + ["k3_e1"] * 7)


def test_a_preset_at_the_users_input_size_and_channels():
    space = get_space("fbnet-cpu", 1.0, 5, input_size=64, channels=1)
    default = get_space("fbnet-cpu", 1.0, 5)
    assert space.input_shape == (1, 64, 64)
    assert space.downsampling == 8
    assert [x.in_hw for x in space.layers] == [2 * x.in_hw for x in default.layers]
    assert space.hash() != default.hash()
    assert space.layers_hash() != default.layers_hash()
    assert get_space("fbnet-cpu", 1.0, 5, input_size=32, channels=3).hash() == default.hash()  # the preset's: same
    # the config's rule (hwnas.config_rules calls the same check): one message from a config, a flag or a file
    with pytest.raises(UserError, match="space.input_size=4 is too small for preset fbnet-cpu, whose .* downsample 8x"):
        get_space("fbnet-cpu", input_size=4)
    with pytest.raises(UserError, match=r"space.width: expected a number in \(0, 16\], got 0"):
        get_space("fbnet-cpu", 0.0)
