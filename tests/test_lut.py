"""The LUT file: builtin tables, round-trip, estimates, bad input."""

import json
import subprocess
import sys

import pytest
import torch
from lut_dicts import v1_lut_dict

from hwnas.errors import UserError
from hwnas.space import get_space
from lut import CostTensors, builtin_names, load_lut, save_lut
from lut.estimate import main as estimate_main
from lut.table import BUILTIN_DIR, lut_from_dict

SOURCE = BUILTIN_DIR / "source" / "hw-nas-bench-fbnet_cifar100_latency_lut.json"
ALL_K3 = ["k3_e1"] * 22


pytestmark = pytest.mark.usefixtures("one_thread")


def test_builtin_rpi4_reproduces_published_values():
    lut = load_lut("builtin:rpi4-hwnasbench")
    assert lut.latency_ms(ALL_K3) == pytest.approx(17.618579145, abs=1e-6)
    assert lut.latency_ms(ALL_K3[:21] + ["k3_e1_g2"]) == pytest.approx(17.505280663, abs=1e-6)
    assert lut.latency_ms(ALL_K3[:20] + ["k3_e1_g2"] * 2) == pytest.approx(17.439692644, abs=1e-6)


@pytest.mark.parametrize(
    "name,device", [("rpi4", "raspi4"), ("pixel3", "pixel3"), ("eyeriss", "eyeriss"), ("fpga", "fpga")]
)
def test_builtin_equals_source_table_sum(name, device):
    src = json.loads(SOURCE.read_text())
    table = src["devices"][device]
    ops = src["ops"]
    lut = load_lut(f"builtin:{name}-hwnasbench")
    assert lut.energy_source == "none"
    assert not lut.has_energy
    assert lut.energy_mj(ALL_K3) is None
    lut.check_space(get_space("fbnet-cifar", 1.0, 100))
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        idx = torch.randint(len(ops), (22,), generator=gen).tolist()
        expected = table["fixed_ms"] + sum(table["layer_op_ms"][l][i] for l, i in enumerate(idx))
        got = lut.latency_ms([ops[i] for i in idx])
        assert got == expected or abs(got - expected) < 1e-9
        assert got > 0


def test_builtins_listed_and_licensed():
    assert {"rpi4-hwnasbench", "pixel3-hwnasbench", "eyeriss-hwnasbench", "fpga-hwnasbench"} <= set(builtin_names())
    assert "MIT License" in (BUILTIN_DIR / "LICENSE-hw-nas-bench").read_text()
    assert "HW-NAS-Bench" in load_lut("builtin:rpi4-hwnasbench").data["provenance"]


def test_builtin_matches_10_class_space_layers_not_other_width():
    lut = load_lut("builtin:rpi4-hwnasbench")
    lut.check_space(get_space("fbnet-cifar", num_classes=10))  # same layers, other classifier
    with pytest.raises(UserError, match="layers_hash"):
        lut.check_space(get_space("fbnet-cifar", width=0.5))
    with pytest.raises(UserError, match="made for space fbnet-cifar"):
        lut.check_space(get_space("fbnet-cpu"))


def test_cost_tensors_follow_lut_op_order():
    lut = load_lut("builtin:rpi4-hwnasbench")
    t = lut.cost_tensors()
    assert isinstance(t, CostTensors)
    assert t.op_names == tuple(lut.data["ops"])
    assert t.latency_ms.shape == (22, 9)
    assert t.latency_ms[0, t.op_names.index("skip")] == 0.0
    assert t.latency_fixed_ms + float(t.latency_ms[:, 0].sum()) == pytest.approx(17.618579145, abs=1e-6)


def _tiny_lut_dict(energy=True):
    def cell(layer: int, j: int) -> dict:
        return {"latency_ms": 0.1 * (j + 1) + layer, "energy_mj": 0.01 * (j + 1) if energy else None}

    fixed = {"latency_ms": 1.0, "energy_mj": 0.5 if energy else None}
    source = "model:horowitz45nm" if energy else "none"
    return dict(v1_lut_dict(cell, energy_source=source, fixed=fixed), calibration=None)


def test_round_trip_and_additive_estimate(tmp_path):
    lut = lut_from_dict(_tiny_lut_dict())
    path = save_lut(lut, tmp_path / "t.json")
    back = load_lut(str(path))
    assert back.data == lut.data
    arch = ["k3_e1"] * 8  # column 0 in every layer: 0.1 + index
    assert back.latency_ms(arch) == pytest.approx(1.0 + sum(0.1 + i for i in range(8)))
    assert back.energy_mj(arch) == pytest.approx(0.5 + 8 * 0.01)
    assert back.has_energy
    assert back.energy_source == "model:horowitz45nm"
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_calibration_block_is_applied_linearly():
    d = _tiny_lut_dict()
    raw = lut_from_dict(d).latency_ms(["skip"] * 8)
    d["calibration"] = {"latency_scale": 1.5, "latency_offset_ms": 0.2}
    assert lut_from_dict(d).latency_ms(["skip"] * 8) == pytest.approx(1.5 * raw + 0.2)


def _write(tmp_path, text):
    p = tmp_path / "bad.json"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda d: d.pop("layers"), "field layers: expected a list"),
        (lambda d: d["layers"][3]["ops"].pop("k5_e6"), r"layers\[3\]\.ops\.k5_e6"),
        (
            lambda d: d["layers"][0]["ops"]["skip"].update(latency_ms="fast"),
            r"layers\[0\]\.ops\.skip\.latency_ms: expected a finite number",
        ),
        (lambda d: d.update(format="other"), "field format"),
        (lambda d: d.update(version=99), "field version"),
        (lambda d: d["space"].pop("layers_hash"), "space.layers_hash"),
        (lambda d: d["fixed"].update(energy_mj=None), "fixed.energy_mj"),
        (lambda d: d.update(calibration={"latency_scale": 2}), "calibration.latency_offset_ms"),
    ],
)
def test_malformed_lut_is_one_line_naming_file_and_field(tmp_path, mutate, match):
    d = _tiny_lut_dict()
    mutate(d)
    path = _write(tmp_path, json.dumps(d))
    with pytest.raises(UserError, match=match) as err:
        load_lut(path)
    assert path in str(err.value)
    assert "\n" not in str(err.value)


def test_truncated_lut(tmp_path):
    text = json.dumps(_tiny_lut_dict())
    path = _write(tmp_path, text[: len(text) // 2])
    with pytest.raises(UserError, match="not valid JSON") as err:
        load_lut(path)
    assert path in str(err.value)


def test_missing_and_unknown_builtin(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_lut(str(tmp_path / "nope.json"))
    with pytest.raises(UserError, match="unknown builtin LUT 'builtin:rpi5'.*builtin:rpi4-hwnasbench"):
        load_lut("builtin:rpi5")


def test_bad_arch_against_lut():
    lut = load_lut("builtin:rpi4-hwnasbench")
    with pytest.raises(UserError, match="21 ops"):
        lut.latency_ms(ALL_K3[:21])
    with pytest.raises(UserError, match="unknown op 'k7_e6'"):
        lut.latency_ms(ALL_K3[:21] + ["k7_e6"])


def test_estimate_cli_arch(capsys):
    estimate_main(["--lut", "builtin:rpi4-hwnasbench", "--arch", ",".join(ALL_K3)])
    assert capsys.readouterr().out.strip() == "latency=17.618579145 ms"


def test_estimate_cli_archs_file_last_line_is_json(tmp_path, capsys):
    archs = [ALL_K3, ALL_K3[:21] + ["k3_e1_g2"]]
    f = tmp_path / "archs.json"
    f.write_text(json.dumps(archs))
    estimate_main(["--lut", "builtin:rpi4-hwnasbench", "--archs-file", str(f)])
    totals = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert totals == pytest.approx([17.618579145, 17.505280663], abs=1e-6)


@pytest.mark.parametrize(
    "args,match",
    [
        (["--arch", "k3_e1,k3_e1"], "--arch: expected 22 ops"),
        (["--arch", ",".join(ALL_K3[:21] + ["conv"])], "layer 21 has unknown op 'conv'"),
        (["--arch", ",".join(ALL_K3), "--metric", "energy"], "no energy data"),
    ],
)
def test_estimate_cli_bad_input_exits_2_with_one_line(args, match, capsys):
    with pytest.raises(SystemExit) as exit_:
        estimate_main(["--lut", "builtin:rpi4-hwnasbench", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ")
    assert "\n" not in err
    assert __import__("re").search(match, err)


def test_estimate_as_module_subprocess():
    r = subprocess.run(
        [sys.executable, "-m", "lut.estimate", "--lut", "builtin:nope", "--arch", "skip"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: unknown builtin LUT")


def test_lut_space_definition_is_checked():
    d = _tiny_lut_dict()
    assert lut_from_dict(d).search_space().hash() == d["space"]["hash"]
    d["space"]["definition"] = {"name": "fbnet-cpu"}
    with pytest.raises(UserError, match="field space.definition"):
        lut_from_dict(d, "t.json").search_space()
    d = _tiny_lut_dict()
    d["space"]["definition"]["stem_stride"] = 1  # layers differ from the recorded layers_hash
    with pytest.raises(UserError, match="layers_hash"):
        lut_from_dict(d, "t.json").search_space()


def test_built_in_tables_are_what_their_converters_write():
    # the shipped JSON files are generated data: a converter change must come with regenerated files
    from lut.builtin import convert_hanna, convert_hwnasbench

    src = json.loads(convert_hwnasbench.SOURCE.read_text())
    for device, (name, _) in convert_hwnasbench.DEVICES.items():
        assert convert_hwnasbench.convert(src, device) == json.loads((BUILTIN_DIR / f"{name}.json").read_text()), name
    assert convert_hanna.convert() == json.loads((BUILTIN_DIR / f"{convert_hanna.NAME}.json").read_text())
