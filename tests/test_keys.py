"""The renamed record keys (hwnas.keys): old files load under the new names, one line per process."""

import pytest

from hwnas import keys


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a process that has printed no deprecation line yet."""
    monkeypatch.setattr(keys, "_TOLD", set())


def test_old_metrics_record_is_read_under_the_new_names(capsys):
    old = {
        "test_acc": 0.8,
        "lut": {"name": "lut.json", "latency_ms": 2.0, "energy_mj": 0.5},
        "lut_estimates": [{"name": "lut.json", "latency_ms": 2.0, "energy_mj": 0.5}, {"name": "b", "latency_ms": 9.0}],
        "measured": {"latency_ms": 1.5, "energy_mj": None},
    }
    new = keys.upgrade(old, "metrics", "child/metrics.json")
    assert new["lut"] == {"name": "lut.json", "lut_latency_ms": 2.0, "lut_energy_mj": 0.5}
    assert new["lut_estimates"][1] == {"name": "b", "lut_latency_ms": 9.0}
    assert new["measured"] == {"latency_ms": 1.5, "energy_mj": None}, "a measurement keeps its short keys"
    assert old["lut"]["latency_ms"] == 2.0, "the caller's record is not changed"
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["child/metrics.json: key 'latency_ms' is read as 'lut_latency_ms' (renamed; old files still load)"]


def test_one_deprecation_line_per_process(capsys):
    keys.upgrade({"latency_ms": 1.0}, "arch", "a/arch.json")
    keys.upgrade({"search_latency_ms": 1.0, "latency_ms": None}, "result_row", "a/result.json")
    keys.upgrade({"knobs": {"start": {"latency_ms": 1.0, "energy_mj": 2.0, "ce": 0.4}}}, "sweep", "sweep.json")
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_each_meaning_has_its_own_new_name():
    row = keys.upgrade({"latency_ms": 3.0, "search_latency_ms": 4.0, "search_energy_mj": 0.1}, "result_row")
    assert row == {"lut_latency_ms": 3.0, "expected_latency_ms": 4.0, "expected_energy_mj": 0.1}
    progress = keys.upgrade({"metrics": {"latency_ms": 4.0, "arch_latency_ms": 3.0}}, "progress")
    assert progress["metrics"] == {"expected_latency_ms": 4.0, "arch_latency_ms": 3.0}
    start = keys.upgrade({"knobs": {"start": {"latency_ms": 1.0, "energy_mj": 2.0, "ce": 0.4}}}, "sweep")
    assert start["knobs"]["start"] == {"lat0_ms": 1.0, "ener0_mj": 2.0, "ce0": 0.4}


def test_new_records_pass_unchanged_and_silent(capsys):
    record = {"lut_latency_ms": 1.0, "ops": ["skip"]}
    assert keys.upgrade(record, "arch", "arch.json") is record
    assert keys.upgrade(["not", "a", "dict"], "arch", "arch.json") == ["not", "a", "dict"]
    assert capsys.readouterr().err == ""


def test_a_row_with_both_names_keeps_the_new_value():
    """A resumed old sweep's rows carry the old name as an alias of the new one."""
    assert keys.upgrade({"latency_ms": 1.0, "lut_latency_ms": 2.0}, "result_row") == {"lut_latency_ms": 2.0}


def test_metric_aliases_of_an_old_study(capsys):
    assert keys.metric_aliases(["test_acc", "latency_ms", "energy_mj"], "sweep.json") == {
        "latency_ms": "lut_latency_ms",
        "energy_mj": "lut_energy_mj",
    }
    assert keys.metric_aliases(["test_acc", "lut_latency_ms"]) == {}
    assert len(capsys.readouterr().err.splitlines()) == 1
