"""The search loss, cost sums and schedules: numbers, and knobs that must be rejected."""

import math

import pytest
import torch

from hwnas.config_sections import LossConfig
from hwnas.errors import UserError
from lut.cost import CostTensors
from supernet.loss import SearchLoss, expected_cost
from supernet.schedule import temperature_at, weight_lr_at

OPS = ("a", "b", "c")


def costs(energy=True):
    lat = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    ener = torch.tensor([[0.5, 0.25, 0.125], [1.0, 2.0, 4.0]]) if energy else None
    return CostTensors(OPS, 10.0, lat, 1.0 if energy else None, ener, "model:test" if energy else "none")


def test_expected_cost_is_fixed_plus_mask_weighted_sum():
    masks = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    assert expected_cost(masks, costs().latency_ms, 10.0).item() == pytest.approx(10 + 1 + 5.5)


def test_hanna_loss_numbers():
    loss = SearchLoss.from_config(LossConfig("hanna", alpha=0.5, beta=0.5, gamma=2.0, delta=0.5), costs())
    value = loss(torch.tensor(1.0), torch.tensor(4.0), torch.tensor(9.0))
    assert value.item() == pytest.approx(1 + 0.5 * 2 + 2 * 3)


def test_fbnet_loss_numbers_and_energy_ignored():
    loss = SearchLoss.from_config(LossConfig("fbnet", alpha=0.5, beta=2.0, gamma=3.0), costs())
    assert not loss.uses_energy
    value = loss(torch.tensor(2.0), torch.tensor(math.e**2), None)
    assert value.item() == pytest.approx(2 * 0.5 * 4)


def test_loss_gradient_pushes_theta_towards_cheap_ops():
    theta = torch.zeros(2, 3, requires_grad=True)
    loss = SearchLoss.from_config(LossConfig("hanna", alpha=1.0, beta=1.0), costs())
    lat = expected_cost(torch.softmax(theta, -1), costs().latency_ms, 10.0)
    loss(torch.tensor(0.0), lat).backward()
    # descending the gradient raises the cheapest op of every layer most
    assert (-theta.grad).argmax(dim=1).tolist() == [0, 0]


@pytest.mark.parametrize("knob", ["alpha", "beta", "gamma", "delta"])
def test_negative_knob_is_rejected(knob):
    cfg = LossConfig(**{knob: -0.1})
    with pytest.raises(UserError, match=f"loss.{knob} must be a finite number >= 0"):
        SearchLoss.from_config(cfg, costs())


def test_non_finite_knob_is_rejected():
    with pytest.raises(UserError, match="loss.beta"):
        SearchLoss.from_config(LossConfig(beta=float("nan")), costs())


def test_gamma_without_energy_in_the_lut_is_rejected():
    with pytest.raises(UserError, match="no energy data"):
        SearchLoss.from_config(LossConfig(gamma=0.5), costs(energy=False), lut_name="builtin:x")


def test_energy_off_ignores_gamma():
    loss = SearchLoss.from_config(LossConfig(gamma=0.5), costs(energy=False), use_energy=False)
    assert loss.gamma == 0
    assert not loss.uses_energy


def test_fbnet_needs_latency_above_one():
    with pytest.raises(UserError, match="LAT > 1"):
        SearchLoss.from_config(LossConfig("fbnet", alpha=0.2), CostTensors(OPS, 0.5, torch.full((2, 3), 0.1)))


def test_unknown_form_is_rejected():
    with pytest.raises(UserError, match="loss.form"):
        SearchLoss.from_config(LossConfig("other"), costs())


def test_schedules():
    assert temperature_at(0, 5.0, 0.045, warmup_epochs=2) == 5.0
    assert temperature_at(2, 5.0, 0.045, warmup_epochs=2) == 5.0
    assert temperature_at(12, 5.0, 0.045, warmup_epochs=2) == pytest.approx(5.0 * math.exp(-0.45))
    assert weight_lr_at(1, 0.1, 10, warmup_epochs=2) == 0.1
    assert weight_lr_at(2, 0.1, 10, warmup_epochs=2) == pytest.approx(0.1)
    assert weight_lr_at(6, 0.1, 10, warmup_epochs=2) == pytest.approx(0.05)
