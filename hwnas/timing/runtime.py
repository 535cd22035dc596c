"""Run a deployed program on this device: ``load_program(data, target, threads)`` gives a
callable ``runner(x) -> logits`` that every timing path calls (``hwnas.timing.speed``).

- ExecuTorch: the ``.pte`` bytes loaded by ``executorch.runtime`` (internal-consistency
  verification), method ``forward``; its XNNPACK threadpool set to ``threads``.
- ONNX Runtime: an ``InferenceSession`` on the CPU execution provider with ``threads``
  intra-op threads, one inter-op thread, sequential execution. A graph that points to
  external data files is refused: loading one would read files of this machine.
- TorchScript (deprecated): a TorchScript file is code, so it is never loaded here;
  ``compile_runner`` traces a network built here from data instead.

Loading runs no Python code from the file. A file that is not what its name claims gives
one line. Imports torch and the standard library; the runtime lazily.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import torch

from hwnas.errors import UserError
from hwnas.layout import WEIGHTS
from hwnas.target import SUFFIXES, DeployTarget, require_runtime

__all__ = ["MAX_PROGRAM_BYTES", "compile_runner", "load_program", "read_program"]

MAX_PROGRAM_BYTES = 512 * 1024 * 1024


def read_program(path, target: DeployTarget) -> bytes:
    """The bytes of a deployable file for ``target``, checked to be what its name claims."""
    path = Path(path)
    if target.runtime == "torchscript":
        raise UserError(f"{path}: a TorchScript file is code and is never loaded here; measure the data file {WEIGHTS}")
    if not path.is_file():
        raise UserError(f"model file {path} not found")
    if path.suffix != SUFFIXES[target.runtime]:
        raise UserError(
            f"{path}: deploy.runtime {target.runtime} runs {SUFFIXES[target.runtime]} files, "
            f"got {path.suffix or 'no suffix'}"
        )
    if path.stat().st_size > MAX_PROGRAM_BYTES:
        raise UserError(f"{path}: {path.stat().st_size} bytes, more than the {MAX_PROGRAM_BYTES} a model may have")
    data = path.read_bytes()
    if target.runtime == "executorch" and data[4:6] != b"ET":
        raise UserError(f"{path}: not an ExecuTorch program (no ET flatbuffer identifier)")
    return data


def load_program(data: bytes, target: DeployTarget, threads: int = 1, source: str = "program"):
    """``runner(x) -> logits`` of deployed bytes (``hwnas.timing.lower.lower`` or ``read_program``)."""
    require_runtime(target.runtime)
    try:
        if target.runtime == "executorch":
            return _ExecuTorch(data, threads)
        if target.runtime == "onnxruntime":
            return _OnnxRuntime(data, threads)
    except UserError:
        raise
    except Exception as err:  # the runtimes raise RuntimeError, InvalidProtobuf, Fail, ...
        first = (str(err).strip().splitlines() or [""])[0][:160]
        raise UserError(f"{source}: {target.runtime} cannot load it ({type(err).__name__}: {first})") from None
    raise UserError(f"{source}: TorchScript files are code and are never loaded here")


def compile_runner(net, example, target: DeployTarget, calibration=None, threads: int = 1):
    """``net`` (built here) lowered to ``target`` and loaded: what the device would run.
    TorchScript: traced in memory (its files are code, never loaded)."""
    if target.runtime == "torchscript":
        from hwnas.network import trace

        return trace(net, example)
    from hwnas.timing.lower import lower

    return load_program(lower(net, example, target, calibration), target, threads)


@contextlib.contextmanager
def _native_stderr_quiet():
    """File descriptor 2 sent to /dev/null for the body: what native code prints there
    (ExecuTorch's Info-level logs) would break a CLI's one-line error."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _ExecuTorch:
    def __init__(self, data: bytes, threads: int):
        from executorch.extension.pybindings import portable_lib
        from executorch.runtime import Runtime

        with _native_stderr_quiet():  # the threadpool logs CPU probing at Info level on stderr
            if portable_lib._threadpool_get_thread_count() != threads:
                portable_lib._unsafe_reset_threadpool(threads)  # process-wide, like torch.set_num_threads
            self.program = Runtime.get().load_program(data)
        self.method = self.program.load_method("forward")
        if self.method is None:
            raise UserError("the program has no method 'forward'")
        meta = self.method.metadata
        if meta.num_inputs() != 1:
            raise UserError(f"expected a program with one input, got {meta.num_inputs()}")
        self.input_shape = list(meta.input_tensor_meta(0).sizes())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.method.execute([x])[0]


class _OnnxRuntime:
    def __init__(self, data: bytes, threads: int):
        import onnx
        import onnxruntime as ort

        model = onnx.load_model_from_string(data)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
            raise UserError("the graph points to external data files (refused: loading it would read local files)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise UserError(f"expected a graph with one input, got {len(inputs)}")
        self.name = inputs[0].name
        self.input_shape = list(inputs[0].shape)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {self.name: x.numpy()})[0])
