"""Figure: fp32 vs int8 of a sweep's recommended model, in ExecuTorch, on this machine.

Takes the recommended childnet of an experiment (``report/report.json`` ``recommended``,
written by ``pareto.report``), rebuilds it from its data file (``model.weights.pt``),
lowers it to ExecuTorch fp32 and int8 (PT2E + XNNPACK quantizer, calibrated on the first
``deploy.calibration_batches`` training batches, exactly as ``childnet.deploy`` does),
measures both test accuracies on the experiment's test split and times both programs in
one session (``childnet.measure`` protocol, against the experiment LUT's speed reference).
Run it on a quiet machine.

    .venv/bin/python bench/int8_recommended.py experiments/<name>

Last line: ``fp32_ms=<ms> int8_ms=<ms> speedup=<x> fp32_acc=<f> int8_acc=<f> drop_points=<p>``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import torch

from childnet.deploy import deployed_predictions
from childnet.export import load_model_data
from childnet.measure import measure_files
from hwnas.config import config_from_dict
from hwnas.data import TensorLoader, make_splits
from hwnas.io import atomic_write_bytes
from hwnas.layout import METRICS, RECORD, REPORT_JSON, child_dir, report_dir
from hwnas.target import DeployTarget
from hwnas.timing import load_program
from hwnas.timing.lower import lower
from lut import load_lut


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("experiment")
    args = p.parse_args()
    experiment = Path(args.experiment)
    record = json.loads((experiment / RECORD).read_text())
    cfg = config_from_dict(record["config"])
    rec = json.loads((report_dir(experiment) / REPORT_JSON).read_text())["recommended"]
    trial = rec["trial_dir"]
    metrics = json.loads((child_dir(experiment / trial) / METRICS).read_text())
    model, meta = load_model_data(rec["weights"])
    d = cfg.data
    splits = make_splits(d.dataset, meta["input_shape"], d.root, False, d.train_size, d.test_size, 0.2, d.seed)
    batches = cfg.child.batch_size
    calibration = [x for x, _ in TensorLoader(splits.train, batches, max_batches=cfg.deploy.calibration_batches)]
    example = torch.zeros(1, *meta["input_shape"])
    load_before = os.getloadavg()[0]
    out, accs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "int8"):
            target = DeployTarget("executorch", precision)
            program = lower(model, example, target, calibration)
            runner = load_program(program, target)
            _, accs[precision] = deployed_predictions(model, runner, TensorLoader(splits.test, batches, shuffle=False))
            out[precision] = atomic_write_bytes(Path(tmp) / f"{precision}.pte", program)
        lut = load_lut(record["lut"]["path"])
        # the LUT's reference network, each time lowered in the precision timed (its LUT speed is
        # the fp32 one's, so only the fp32 session gets it)
        reference = lut.measurement_reference()
        timed = {}
        for precision in ("fp32", "int8"):
            spec = reference if precision == "fp32" else {k: v for k, v in reference.items() if k != "latency_ms"}
            target = DeployTarget("executorch", precision)
            timed[precision] = measure_files([out[precision]], reference=spec, target=target)[0]
    fp32, int8 = timed["fp32"]["latency_ms"], timed["int8"]["latency_ms"]
    print(
        f"trial={trial} lut_target={lut.target.key} rel_iqr fp32={timed['fp32']['rel_iqr']:.4f} "
        f"int8={timed['int8']['rel_iqr']:.4f} test_acc(pytorch fp32)={metrics['test_acc']:.4f} "
        f"loadavg={load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )
    print(
        f"fp32_ms={fp32:.4f} int8_ms={int8:.4f} speedup={fp32 / int8:.2f} fp32_acc={accs['fp32']:.4f} "
        f"int8_acc={accs['int8']:.4f} drop_points={100 * (accs['fp32'] - accs['int8']):.2f}"
    )


if __name__ == "__main__":
    main()
