"""The file the user deploys, written next to the data file and checked on the test split.

``export_deployable`` writes ``model.pte`` (ExecuTorch), ``model.onnx`` (ONNX Runtime) or
``model.pt`` (TorchScript, deprecated) for the experiment's ``deploy`` target; for eager
PyTorch the data file ``model.weights.pt`` is the deployed file. int8 is calibrated on the
first ``deploy.calibration_batches`` training batches (fixed order). The written program
is then loaded by its runtime and run on the whole test split: ``deploy_agreement`` is the
share of test images whose top-1 class equals the PyTorch model's, and for int8
``test_acc_int8`` is the program's own test accuracy (measured, never assumed).
"""

from __future__ import annotations

from pathlib import Path

import torch

from childnet.export import export_model
from hwnas.config_sections import DeployConfig
from hwnas.data import TensorLoader
from hwnas.io import atomic_write_bytes
from hwnas.target import SUFFIXES
from hwnas.timing import load_program
from hwnas.timing.lower import lower

__all__ = ["deployed_predictions", "export_deployable"]


def export_deployable(
    model,
    out_dir: Path,
    meta: dict,
    deploy: DeployConfig,
    splits,
    batch_size: int,
    stem: str = "model",
    allow_portable: bool = False,
) -> dict:
    """Write the deployable file of ``model`` (eval mode, standard layout) into ``out_dir``
    as ``<stem><suffix>`` and return its record: ``file``, the target (``runtime``,
    ``precision``, ``runtime_version``), ``deploy_agreement`` and (int8) ``test_acc_int8``.
    Eager PyTorch deploys the data file ``<stem>.weights.pt`` (written by the caller).
    ``allow_portable`` (baselines): ops ExecuTorch leaves to its portable kernels are kept
    and listed (``portable_ops``) instead of refused."""
    target = deploy.target()
    name = stem + SUFFIXES[target.runtime]
    record = {"file": name, **target.record()}
    if target.runtime == "pytorch":
        return record
    if target.runtime == "torchscript":
        export_model(model, out_dir / name, meta)  # code: for trusted use only
        return record
    example = torch.zeros(1, *meta["input_shape"])
    calibration = None
    if target.precision == "int8":
        calibration = [x for x, _ in TensorLoader(splits.train, batch_size, max_batches=deploy.calibration_batches)]
    portable = [] if allow_portable else None
    program = lower(model, example, target, calibration, portable)
    if portable:
        record["portable_ops"] = portable
    runner = load_program(program, target, source=str(out_dir / name))
    agree, acc = deployed_predictions(model, runner, TensorLoader(splits.test, batch_size, shuffle=False))
    atomic_write_bytes(out_dir / name, program)
    record["deploy_agreement"] = agree
    if target.precision == "int8":
        record["test_acc_int8"] = acc
    return record


def deployed_predictions(model, runner, loader) -> tuple[float, float]:
    """``(share of images where the program's top-1 equals the model's, program's accuracy)``
    over ``loader``, image by image (the program takes batch 1)."""
    model.eval()
    same = correct = seen = 0
    with torch.inference_mode():
        for x, y in loader:
            ours = model(x).argmax(1)
            for i in range(len(y)):
                theirs = int(runner(x[i : i + 1].contiguous()).argmax(1))
                same += theirs == int(ours[i])
                correct += theirs == int(y[i])
            seen += len(y)
    return same / max(seen, 1), correct / max(seen, 1)
