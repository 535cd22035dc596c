"""HANNA's own Raspberry Pi 3B table (builtin:rpi3b-hanna) and its 30 final thetas,
decoded into architectures of the hanna-cifar space."""

from pathlib import Path

import pytest
import torch

from hwnas.errors import UserError
from hwnas.network import build_network
from hwnas.space import get_space
from lut import load_lut
from lut.builtin.convert_hanna import HANNA_OPS, SOURCE, no_skip_layers, read_table

THETAS = sorted((SOURCE / "thetalogs").glob("model*.txt"))


def model_number(path: Path) -> int:
    return int(path.name[5:7])


def decode(path: Path, space) -> list[str]:
    """HANNA's argmax per row, over the layer's real candidates (no skip in a stage's
    first layer: its 9th column is a 0.0 pad written by save_theta)."""
    no_skip = set(no_skip_layers(space))
    ops = []
    for i, row in enumerate(read_table(path)):
        candidates = row[:-1] if i in no_skip else row
        ops.append(HANNA_OPS[max(range(len(candidates)), key=candidates.__getitem__)])
    return ops


@pytest.fixture(scope="module")
def lut():
    return load_lut("builtin:rpi3b-hanna")


@pytest.fixture(scope="module")
def archs(lut):
    space = lut.search_space()
    return {model_number(p): decode(p, space) for p in THETAS}


def test_lut_is_hannas_table_in_ms_and_mj(lut):
    assert lut.device["name"] == "Raspberry Pi 3B"
    assert lut.energy_source == "powerjive"
    assert lut.energy_kind == "dynamic"
    assert lut.data["units"] == {"latency": "ms", "energy": "mJ", "source_latency": "s", "source_energy": "J"}
    assert lut.data["provenance"]["repo"].endswith("hpnair/18663_Project_FBNet")
    t = lut.cost_tensors()
    assert t.op_names == HANNA_OPS == get_space("hanna-cifar").ops
    # the reference README's sums of the per-layer means: 3.769 s and 18.02 J
    assert float(t.latency_ms.mean(dim=1).sum()) == pytest.approx(3769.4, abs=0.1)
    assert float(t.energy_mj.mean(dim=1).sum()) == pytest.approx(18015.2, abs=0.1)
    speed = read_table(SOURCE / "rpi_speed.txt")
    assert float(t.latency_ms[13, 7]) == pytest.approx(speed[13][7] * 1e3, rel=1e-12)


def test_total_energy_from_a_dynamic_only_table_is_one_line_naming_the_field():
    with pytest.raises(UserError, match=r"field energy_kinds: expected total energy .*\['dynamic'\] only") as err:
        load_lut("builtin:rpi3b-hanna", energy_kind="total")
    assert "\n" not in str(err.value)


def test_thirty_thetas_decode_to_architectures_of_the_space(lut, archs):
    space = lut.search_space()
    assert space.name == "hanna-cifar"
    assert space.num_layers == 22
    assert sorted(archs) == list(range(1, 31))
    no_skip = no_skip_layers(space)
    assert no_skip == [0, 1, 5, 9, 13, 17, 21]
    for number, ops in archs.items():
        assert space.check_arch(ops, f"model {number}") == ops
        # the pad column never wins: HANNA's searches could not pick skip there
        assert all(ops[i] != "skip" for i in no_skip)


def test_model_29_costs_what_the_reference_computed(lut, archs):
    ops = archs[29]
    assert ops[:2] == ["k3_e1_g2", "k5_e6"]
    assert ops.count("skip") == 15
    assert lut.latency_ms(ops) == pytest.approx(2708.0, abs=0.5)  # 2.708 s
    assert lut.energy_mj(ops) == pytest.approx(2850.0, abs=5.0)  # 2.85 J (dynamic)


def test_lowest_latency_is_model_4_as_the_report_says(lut, archs):
    # report: "model 4 ... provide[s the] lowest latency (2.65 s)", measured on the Pi
    latency = {n: lut.latency_ms(ops) for n, ops in archs.items()}
    assert min(latency, key=latency.get) == 4


@pytest.mark.slow
def test_found_architectures_build_with_the_right_output_shape(lut, archs):
    space = lut.search_space()
    x = torch.randn(2, *space.input_shape)
    for ops in {tuple(a) for a in archs.values()}:
        net = build_network(space, list(ops)).eval()
        with torch.no_grad():
            assert net(x).shape == (2, 10)


def test_hanna_config_runs_energy_dominant_sweeps_against_the_table():
    from hwnas.config import load_config
    from lut import experiment_lut
    from sweep.knobs import start_costs

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "hanna.yaml")
    assert (cfg.space.preset, cfg.lut.path, cfg.lut.energy_kind, cfg.sweep.dominant) == (
        "hanna-cifar",
        "builtin:rpi3b-hanna",
        "dynamic",
        "energy",
    )
    space = cfg.search_space()
    lut = experiment_lut(cfg, space)  # HANNA's table: eager PyTorch on their Pi 3B, as the config says
    assert cfg.deploy.runtime == "pytorch"
    assert lut.target == cfg.deploy.target()
    start = start_costs(lut.cost_tensors(), cfg.lut.energy)
    # the loss's start costs are HANNA's uniform-theta LAT and ENER (3.769 s, 18.02 J)
    assert start.lat0_ms == pytest.approx(3769.4, abs=0.1)
    assert start.ener0_mj == pytest.approx(18015.2, abs=0.1)
