"""The timing protocol: statistics, thread handling, warm-up/repeat counts, energy rules."""

import pytest
import torch

from hwnas.device import describe
from hwnas.timing import TimingProtocol, fixed_threads, timing_kwargs
from hwnas.timing.protocol import measure, summarize, time_module


class Counting(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls, self.threads, self.grad = 0, set(), set()

    def forward(self, x):
        self.calls += 1
        self.threads.add(torch.get_num_threads())
        self.grad.add(torch.is_grad_enabled())
        return x * 2


def test_summarize_median_iqr_mean_min():
    t = summarize([5.0, 1.0, 4.0, 2.0, 3.0], threads=2)
    assert (t.median_ms, t.iqr_ms, t.mean_ms, t.min_ms, t.repeats, t.threads) == (3.0, 2.0, 3.0, 1.0, 5, 2)
    assert summarize([7.0]).iqr_ms == 0.0


def test_time_module_counts_calls_fixes_threads_and_restores():
    before = torch.get_num_threads()
    m = Counting().train()
    t = time_module(m, torch.ones(1), warmup=3, repeats=7, threads=1)
    assert m.calls == 10
    assert t.repeats == 7
    assert t.threads == 1
    assert m.threads == {1}
    assert m.grad == {False}
    assert not m.training
    assert torch.get_num_threads() == before
    assert 0 < t.min_ms <= t.median_ms


def test_fixed_threads_restores_after_error():
    before = torch.get_num_threads()
    with pytest.raises(KeyError), fixed_threads(1):
        raise KeyError
    assert torch.get_num_threads() == before


class FakeMeter:
    source = "rapl"

    def start(self):
        self.started = True

    def stop(self):
        return 0.5  # joules over all timed calls


def test_measure_without_meter_has_no_energy():
    r = measure(Counting(), torch.ones(1), warmup=1, repeats=5)
    assert r["energy_mj"] is None
    assert r["energy_source"] == "none"
    assert r["repeats"] == 5
    assert r["threads"] == 1
    assert r["latency_ms"] > 0


def test_measure_with_meter_divides_by_repeats():
    r = measure(Counting(), torch.ones(1), warmup=1, repeats=10, meter=FakeMeter())
    assert r["energy_mj"] == pytest.approx(50.0)  # 0.5 J / 10 calls = 50 mJ
    assert r["energy_source"] == "rapl"


def test_describe_names_the_device():
    d = describe(3)
    assert d["threads"] == 3
    assert d["torch"] == torch.__version__
    assert d["cpu"]
    assert d["cpu"] in d["name"]
    assert d["hostname"]


@pytest.mark.slow
def test_device_side_modules_need_only_torch():
    """timing, meters and device run on a Pi with only torch: they import no other
    third-party package (smbus2 only when an INA219 meter is built)."""
    import subprocess
    import sys

    code = (
        "import sys, hwnas.timing, hwnas.meters, hwnas.meters.rapl, hwnas.meters.ina219, hwnas.device; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'lut', 'ray', 'yaml', 'pandas', 'smbus2', 'optuna', 'supernet', 'childnet', 'sweep'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


_FAULTS_SCRIPT = """
import resource, sys, torch
from hwnas.timing import steady_allocator
assert steady_allocator() == steady_allocator() == {
    "allocator": "glibc", "M_TRIM_THRESHOLD": 1 << 30, "M_MMAP_THRESHOLD": 32 << 20}
def step():  # 80 activation-sized buffers (1 MiB) used and freed, then one of 30 MiB
    bufs = [torch.ones(1 << 18) for _ in range(80)]
    del bufs
    torch.ones(30 << 18)
for _ in range(3):
    step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


@pytest.mark.slow
def test_steady_allocator_keeps_freed_buffers_in_the_process():
    import subprocess
    import sys

    from hwnas.timing import steady_allocator

    if steady_allocator()["allocator"] != "glibc":
        pytest.skip("not glibc: nothing to set")
    # in a fresh process (the setting is process-wide), 5 steps touch 550 MiB of freed
    # and reused buffers: with the heap kept, no page is faulted in again. (glibc's
    # default faults ~77k-100k pages here in about half the runs, depending on its
    # adaptive thresholds' history: the history dependence the setting removes.)
    # two fresh processes, side by side (each counts its own page faults)
    cmd = [sys.executable, "-c", _FAULTS_SCRIPT]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        out, _ = run.communicate(timeout=120)
        assert run.returncode == 0, "the allocator script failed"
        assert int(out.split()[-1]) < 500, f"{out.split()[-1]} pages faulted in again"


def test_timing_protocol_splits_repeats_over_rounds_and_reads_cli_flags():
    from lut.profile import build_parser

    assert TimingProtocol(repeats=90, rounds=6).per_round == 15
    assert TimingProtocol(repeats=7, rounds=2).per_round == 3
    assert TimingProtocol(repeats=2, rounds=6).per_round == 1  # every visit times at least one sample
    args = build_parser().parse_args(["--space", "fbnet-cpu", "--out", "x.json", "--rounds", "3", "--threads", "2"])
    assert timing_kwargs(args) == {"threads": 2, "warmup": 10, "repeats": 90, "rounds": 3}
    assert TimingProtocol(**timing_kwargs(args)).record() == timing_kwargs(args)


def test_whole_model_timing_has_one_default_used_by_the_config_and_the_measurement():
    import inspect

    from childnet.measure import measure_files
    from hwnas.config_sections import MeasureConfig
    from hwnas.timing import LUT_TIMING, MAX_REL_IQR, MODEL_TIMING, TRIES

    # the numbers every recorded LUT and measurement was taken with
    assert LUT_TIMING == TimingProtocol(threads=1, warmup=10, repeats=90, rounds=6), "LUT default changed"
    assert MODEL_TIMING == TimingProtocol(threads=1, warmup=10, repeats=150, rounds=30), "whole-model default changed"
    assert (MAX_REL_IQR, TRIES) == (0.05, 3), "whole-model quiet check changed"
    config = MeasureConfig().protocol()
    signature = inspect.signature(measure_files).parameters
    for name, value in {**MODEL_TIMING.record(), "max_rel_iqr": MAX_REL_IQR, "tries": TRIES}.items():
        assert config[name] == value, f"MeasureConfig.{name} is not the whole-model default"
        assert signature[name].default == value, f"measure_files({name}=...) is not the whole-model default"
