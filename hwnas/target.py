"""The deployment target: the runtime and precision a model ships in.

An experiment's costs describe one target (config section ``deploy``): the LUT is profiled
in it, childnets are exported to it, and the device times the exported file in it. Names
are what scripts and other tools use:

- ``executorch`` (default): ``torch.export`` -> ``to_edge_transform_and_lower`` with the
  XNNPACK partitioner, a ``.pte`` program run by the ExecuTorch runtime;
- ``onnxruntime``: an ``.onnx`` graph run by ONNX Runtime's CPU execution provider;
- ``torchscript``: deprecated by PyTorch (``torch.jit``); kept for old setups only, fp32;
- ``pytorch``: eager PyTorch on the device, fp32: what the published tables measured
  (HW-NAS-Bench's Raspberry Pi 4, HANNA's Pi 3B); the deployed file is the data file
  ``model.weights.pt`` rebuilt by this package.

Precision ``fp32`` or ``int8`` (post-training static quantization calibrated on training
batches: ``hwnas.timing.lower``). Imports no torch: the report and the config read it.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass

from hwnas.domains import PRECISIONS, RUNTIMES
from hwnas.errors import UserError

__all__ = [
    "LOWERED",
    "PRECISIONS",
    "RUNTIMES",
    "SUFFIXES",
    "DeployTarget",
    "add_target_flags",
    "require_runtime",
    "runtime_version",
]

LOWERED = ("executorch", "onnxruntime")  # runtimes that run a lowered program (int8 too); the others run fp32 modules
SUFFIXES = {"executorch": ".pte", "onnxruntime": ".onnx", "torchscript": ".pt", "pytorch": ".weights.pt"}
# the module a runtime needs on the device, and the package that brings it
_MODULES = {"executorch": ("executorch.runtime", "executorch"), "onnxruntime": ("onnxruntime", "onnxruntime")}
# Importing ExecuTorch (and torchao) registers an Enum with torch's pytree, which logs a
# deprecation warning on stderr in every process: it broke the CLIs' one-line errors.
logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
_DISTRIBUTIONS = {"executorch": "executorch", "onnxruntime": "onnxruntime", "torchscript": "torch", "pytorch": "torch"}


@dataclass(frozen=True)
class DeployTarget:
    """A runtime and a precision; checked when built (one line naming what is allowed), the
    one check of a target whether it comes from a config (``hwnas.config_rules.SHARED``),
    a flag or a record."""

    runtime: str = "executorch"
    precision: str = "fp32"

    def __post_init__(self):
        if self.runtime not in RUNTIMES:
            raise UserError(f"deploy.runtime: expected one of {', '.join(RUNTIMES)}, got {str(self.runtime)[:40]!r}")
        if self.precision not in PRECISIONS:
            raise UserError(
                f"deploy.precision: expected one of {', '.join(PRECISIONS)}, got {str(self.precision)[:40]!r}"
            )
        if self.precision != "fp32" and self.runtime not in LOWERED:
            raise UserError(
                f"deploy: precision={self.precision} needs runtime {' or '.join(LOWERED)}, got runtime={self.runtime} "
                "(fp32 only)"
            )

    @property
    def key(self) -> str:
        """``<runtime>-<precision>``: how files, caches and reports name the target."""
        return f"{self.runtime}-{self.precision}"

    @property
    def file_name(self) -> str:
        """The deployable file a childnet folder holds for this target (eager PyTorch: the data file)."""
        return "model" + SUFFIXES[self.runtime]

    @property
    def lowered(self) -> bool:
        """Whether the network runs as a lowered program (not PyTorch modules built here)."""
        return self.runtime in LOWERED

    def record(self) -> dict:
        """What a LUT, a measurement and a report store about the target."""
        return {"runtime": self.runtime, "precision": self.precision, "runtime_version": runtime_version(self.runtime)}

    @classmethod
    def from_record(cls, record, source: str = "deploy") -> DeployTarget:
        """The target a record names (``{"runtime", "precision"}``); one line when it is not one."""
        if not isinstance(record, dict):
            raise UserError(f"{source}: expected an object with runtime and precision, got {type(record).__name__}")
        return cls(record.get("runtime"), record.get("precision"))

    def __str__(self) -> str:
        return f"{self.runtime} {self.precision}"


def add_target_flags(parser, default: DeployTarget | None = DeployTarget()) -> None:
    """``--runtime`` and ``--precision`` on a CLI (``default`` None: the flags default to None,
    for commands that take the target from a LUT or a config)."""
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=default and default.runtime,
        help="deployment runtime: executorch (default; XNNPACK), onnxruntime, torchscript (deprecated by PyTorch; "
        "old setups only), pytorch (eager, what the published tables measured)",
    )
    parser.add_argument(
        "--precision", choices=PRECISIONS, default=default and default.precision, help="fp32 or int8 (post-training)"
    )


def runtime_version(runtime: str) -> str | None:
    """The installed version of the package behind ``runtime`` (None: not installed)."""
    try:
        return importlib.metadata.version(_DISTRIBUTIONS[runtime])
    except importlib.metadata.PackageNotFoundError:
        return None


def require_runtime(runtime: str) -> None:
    """One line naming the package to install when ``runtime`` cannot run here."""
    if runtime not in _MODULES:
        return
    module, package = _MODULES[runtime]
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise UserError(
            f"runtime {runtime} is not installed on this device ({type(err).__name__}: {str(err)[:80]}); "
            f"install it with: pip install {package}"
        ) from None
