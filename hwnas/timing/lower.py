"""Lower a network to the file its deployment target runs: ``lower(net, example, target)``.

- ExecuTorch: ``torch.export`` -> ``to_edge_transform_and_lower`` with the XNNPACK
  partitioner -> ``.pte`` bytes. int8: PT2E with the XNNPACK quantizer (per-channel
  symmetric), calibrated on the given inputs, then the same lowering. Every compute op
  must land in the XNNPACK delegate: one left to the portable kernels is refused with one
  line naming the op and the layer (it would run many times slower on the device).
- ONNX Runtime: ``torch.onnx.export`` (opset 17) -> ``.onnx`` bytes. int8:
  ``onnxruntime.quantization.quantize_static``, QDQ, S8S8, per-channel, calibrated on the
  given inputs.
- TorchScript (deprecated): ``torch.jit.trace`` saved to bytes.

Measured on this project's 2-core VM (one core, fbnet-cpu networks): ExecuTorch fp32
4.5-8 s, int8 10-12 s, ONNX 0.1 s; so LUT profiles lower their networks once, in
parallel, and keep the programs (``hwnas.timing.programs``). Runs on the head; a device only
needs the runtime (``hwnas.timing.runtime``).
"""

from __future__ import annotations

import io
import logging
import tempfile
import warnings
from pathlib import Path

import torch

from hwnas.errors import UserError
from hwnas.target import DeployTarget, require_runtime

__all__ = ["ONNX_OPSET", "lower"]

ONNX_OPSET = 17
# ExecuTorch graph nodes that are plumbing, not compute left outside the delegate
_PLUMBING = ("executorch_call_delegate", "getitem", "alloc", "view_copy", "_to_dim_order_copy")


def lower(
    net: torch.nn.Module, example: torch.Tensor, target: DeployTarget, calibration=None, portable: list | None = None
) -> bytes:
    """The bytes of ``net`` (put in eval mode) deployed in ``target``. ``calibration``:
    input batches for int8 (at least one sample); ignored for fp32. ExecuTorch: an op left
    outside the XNNPACK delegate is refused with one line, unless ``portable`` is a list,
    which then receives ``"<op> at <layer>"`` for each (a hand-designed baseline may keep
    one, e.g. torchvision MnasNet's ``mean`` over the feature map, and is timed with it)."""
    net = net.eval()
    calibration = _samples(calibration) if target.precision == "int8" else None
    if target.runtime != "torchscript":
        require_runtime(target.runtime)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecations of the exporters' internals, per call
        if target.runtime == "executorch":
            return _executorch(net, example, calibration, portable)
        if target.runtime == "onnxruntime":
            return _onnx(net, example, calibration)
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.trace(net, example, check_trace=False), buffer)
        return buffer.getvalue()


def _samples(calibration) -> list[torch.Tensor]:
    """Calibration batches as single samples (the deployed model takes batch 1)."""
    samples = [s for batch in (calibration or []) for s in batch.split(1)]
    if not samples:
        raise UserError("int8 calibration set is empty: need at least one training batch (deploy.calibration_batches)")
    return samples


def _executorch(net, example, calibration, portable) -> bytes:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    if calibration is not None:
        net = _quantize_pt2e(net, example, calibration)
    edge = to_edge_transform_and_lower(torch.export.export(net, (example,)), partitioner=[XnnpackPartitioner()])
    outside = _outside_delegate(edge.exported_program().graph_module)
    if outside and portable is None:
        raise UserError(
            f"executorch/XNNPACK cannot lower op {outside[0]}: it would run on the portable kernels; deploy with "
            f"onnxruntime or choose other ops"
        )
    if portable is not None:
        portable.extend(outside)
    return edge.to_executorch().buffer


def _quantize_pt2e(net, example, calibration):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    module = prepare_pt2e(torch.export.export(net, (example,)).module(), quantizer)
    for sample in calibration:
        module(sample)
    return convert_pt2e(module)


def _outside_delegate(graph_module) -> list[str]:
    """``"<op> at layer <module path>"`` for every compute node left outside the delegate."""
    outside = []
    for node in graph_module.graph.nodes:
        if node.op != "call_function":
            continue
        name = getattr(node.target, "__name__", str(node.target))
        if any(p in name for p in _PLUMBING) or "quantize_per" in name:
            continue
        stack = node.meta.get("nn_module_stack") or {}
        layer = next(reversed(stack.values()))[0] if stack else ""
        outside.append(f"{name} at layer {layer or '(top)'}")
    return outside


def _onnx(net, example, calibration) -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(
        net, (example,), buffer, dynamo=False, opset_version=ONNX_OPSET, input_names=["x"], output_names=["logits"]
    )
    if calibration is None:
        return buffer.getvalue()
    return _quantize_onnx(buffer.getvalue(), calibration)


def _quantize_onnx(model: bytes, calibration) -> bytes:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter(calibration)

        def get_next(self):
            sample = next(self.samples, None)
            return None if sample is None else {"x": sample.numpy()}

    with tempfile.TemporaryDirectory(prefix="hwnas-quant-") as tmp:
        src, pre, dst = (Path(tmp) / f"{name}.onnx" for name in ("fp32", "pre", "int8"))
        src.write_bytes(model)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # constants -> initializers, shapes
        quiet = logging.getLogger()
        level, quiet.level = quiet.level, logging.ERROR  # per-model advice on the root logger
        try:
            quantize_static(
                str(pre),
                str(dst),
                Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        finally:
            quiet.level = level
        return dst.read_bytes()
