"""Every registry op at every layer shape of every preset (small width): builds,
runs forward and backward, keeps the layer's output shape."""

import pytest
import torch

from hwnas.errors import UserError
from hwnas.ops import FBNetBlock, Skip, build_op, channel_shuffle, parse_op
from hwnas.space import FBNET_OPS, PRESETS, get_space

pytestmark = pytest.mark.usefixtures("one_thread")


def _shapes(preset, width):
    space = get_space(preset, width)
    seen = {}
    for layer in space.layers:
        seen.setdefault(layer.shape_key, layer)
    return list(seen.values())


CASES = [(preset, layer, op) for preset in PRESETS for layer in _shapes(preset, 0.25) for op in FBNET_OPS]


@pytest.mark.parametrize(
    "preset,layer,op",
    CASES,
    ids=[f"{p}-{l.in_channels}x{l.in_hw}to{l.out_channels}s{l.stride}-{o}" for p, l, o in CASES],
)
def test_op_forward_backward_shape(preset, layer, op):
    # real channels and stride; spatial size capped (the imagenet stem output is 112x112)
    hw = min(layer.in_hw, 8)
    block = build_op(op, layer.in_channels, layer.out_channels, layer.stride)
    x = torch.randn(2, layer.in_channels, hw, hw, requires_grad=True)
    y = block(x)
    assert y.shape == (
        2,
        layer.out_channels,
        (hw + layer.stride - 1) // layer.stride,
        (hw + layer.stride - 1) // layer.stride,
    )
    y.square().mean().backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    params = list(block.parameters())
    if isinstance(block, Skip) and block.is_identity:
        assert params == []
    else:
        assert all(p.grad is not None for p in params)


def test_op_names_parse_into_kernel_expansion_groups():
    assert parse_op("k5_e6") == parse_op("k5_e6")
    spec = parse_op("k3_e1_g2")
    assert (spec.kernel, spec.expansion, spec.groups) == (3, 1, 2)
    assert parse_op("skip").is_skip


def test_new_op_needs_no_code():
    block = build_op("k7_e6", 16, 24, 2)
    assert isinstance(block, FBNetBlock)
    assert block.depthwise.conv.kernel_size == (7, 7)
    assert block.depthwise.conv.stride == (2, 2)
    assert block.expand.conv.out_channels == 96
    assert block(torch.randn(1, 16, 8, 8)).shape == (1, 24, 4, 4)


def test_block_structure_and_residual():
    block = build_op("k3_e3", 16, 16, 1)
    assert block.residual
    assert block.expand.conv.kernel_size == (1, 1)
    assert hasattr(block.expand, "relu")
    assert block.depthwise.conv.groups == 48
    assert hasattr(block.depthwise, "relu")
    assert not hasattr(block.project, "relu")
    assert not build_op("k3_e3", 16, 24, 1).residual
    assert not build_op("k3_e3", 16, 16, 2).residual


def test_grouped_op_shuffles_channels():
    block = build_op("k3_e1_g2", 16, 16, 1)
    assert block.expand.conv.groups == 2
    assert block.project.conv.groups == 2
    x = torch.arange(4.0).view(1, 4, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0.0, 2.0, 1.0, 3.0]


def test_skip_is_identity_or_projection():
    assert build_op("skip", 16, 16, 1).is_identity
    x = torch.randn(1, 16, 8, 8)
    assert build_op("skip", 16, 16, 1)(x) is x
    proj = build_op("skip", 16, 24, 2)
    assert not proj.is_identity
    assert proj(x).shape == (1, 24, 4, 4)


@pytest.mark.parametrize("name", ["k4_e1", "k3", "conv3x3", "k3_e0", "k3_e1_g0", ""])
def test_bad_op_names_are_user_errors(name):
    with pytest.raises(UserError):
        parse_op(name)


def test_groups_must_divide_channels():
    with pytest.raises(UserError, match="divisible"):
        build_op("k3_e1_g2", 15, 16, 1)
