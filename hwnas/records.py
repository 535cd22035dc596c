"""The records that cross packages, typed: what the writers promise and ``pareto`` reads.

``docs/formats.md`` explains each field; this module is its checkable form. Writers build
these dicts (``supernet.search``, ``sweep.random_arch``: ``ArchRecord``; ``childnet.train``:
``MetricsRecord``; ``sweep.trial``: ``ResultRow``; ``sweep.run``: ``SweepRecord``;
``sweep.baselines``: ``BaselineRecord``; ``sweep.measurements``: ``MeasurementsRecord``), and
``check_record`` is what the contract test (tests/test_contract.py) runs on a real sweep's
files and on the report tests' synthetic ones (``testdata/``), so the report's test
data cannot drift from the real layout. ``result_rows`` is the one reader of a trial's
``result.json`` (``pareto``, the web page and the tests use it). Keys renamed since files were
written are read under their new names (``hwnas.keys``). Torch-free.
"""

# (no ``from __future__ import annotations``: Python 3.11's TypedDict reads NotRequired
# only from evaluated annotations)
import json
import types
import typing
from pathlib import Path
from typing import Literal, NotRequired, TypedDict

from hwnas.domains import Dominant, Precision, Runtime, Strategy
from hwnas.errors import UserError
from hwnas.keys import upgrade
from hwnas.layout import RESULT

__all__ = [
    "ArchRecord",
    "BaselineRecord",
    "DataRecord",
    "DeployRecord",
    "FinalMetricsRecord",
    "FinalRecord",
    "LutEstimate",
    "MeasuredRecord",
    "MeasurementEntry",
    "MeasurementsRecord",
    "MetricsRecord",
    "ResultRow",
    "SpaceRecord",
    "SweepRecord",
    "check_record",
    "result_rows",
]


class SpaceRecord(TypedDict):
    """``SearchSpace.record()``: which space (and which shapes) an architecture belongs to."""

    name: str
    width: float
    num_classes: int
    hash: str
    layers_hash: str


class ArchRecord(TypedDict):
    """``search/arch.json``: the found (or drawn) architecture and its LUT estimate."""

    space: SpaceRecord
    ops: list[str]
    lut_latency_ms: float
    lut_energy_mj: float | None
    energy_source: str
    lut: str
    picked: Literal["argmax", "random"]
    arch_seed: NotRequired[int]  # argmax: the Gumbel seed of the search
    proxy_width: NotRequired[float | None]
    search_width: NotRequired[float]
    arch_index: NotRequired[int]  # random: the proposal number
    seed: NotRequired[int]  # random: sweep.seed


class LutEstimate(TypedDict):
    """One LUT's estimate of a childnet (``metrics.json`` ``lut`` and ``lut_estimates``)."""

    name: str
    device: NotRequired[str | None]  # in lut_estimates (the search LUT's entry in ``lut`` may omit it)
    lut_latency_ms: float
    lut_energy_mj: float | None
    energy_source: str
    target: NotRequired[str]  # the deployment target the LUT describes, e.g. executorch-fp32


class DeployRecord(TypedDict):
    """``metrics.json`` ``deploy`` (and a measurement's): the file the user deploys and its
    target (``hwnas.target``); the test-split checks of the written program."""

    runtime: Runtime
    precision: Precision
    runtime_version: str | None
    file: NotRequired[str]  # in the childnet folder: model.pte, model.onnx, model.pt, model.weights.pt
    deploy_agreement: NotRequired[float]  # share of test images whose top-1 equals the PyTorch model's
    test_acc_int8: NotRequired[float]  # int8: the program's own test accuracy
    portable_ops: NotRequired[list[str]]  # a baseline's ops ExecuTorch runs outside XNNPACK ("<op> at layer <path>")


class MeasuredRecord(TypedDict):
    """``metrics.json`` ``measured``: the exported model timed on the device (null values
    while pending or when not measured; ``energy_mj`` null without a real meter)."""

    latency_ms: float | None
    latency_iqr_ms: float | None
    energy_mj: float | None
    energy_source: str
    device: str | None
    energy_dynamic_mj: NotRequired[float | None]  # energy_mj minus idle power x time (a meter's)
    idle_w: NotRequired[float | None]  # the meter session's idle power
    node: NotRequired[str | None]  # host name of the machine that measured
    node_ip: NotRequired[str | None]
    ray_node_id: NotRequired[str | None]
    threads: NotRequired[int | None]  # null while pending
    batch_size: NotRequired[int | None]
    rel_iqr: NotRequired[float | None]
    noisy: NotRequired[bool | None]
    tries: NotRequired[int | None]
    speed_factor: NotRequired[float | None]  # the speed reference now / in the LUT
    latency_ms_at_lut_speed: NotRequired[float | None]
    reference_ms: NotRequired[float | None]
    reference_rel_iqr: NotRequired[float | None]
    loadavg_1min: NotRequired[list[float] | None]
    repeats: NotRequired[int]
    rounds: NotRequired[int]
    warmup: NotRequired[int]
    allocator: NotRequired[str]
    protocol: NotRequired[str]
    model_of: NotRequired[str]  # the trial whose model file was timed (joined from measurements.json)
    deploy: NotRequired[DeployRecord]  # the runtime and precision the model ran in
    pending: NotRequired[bool]  # timed on this host: the measurement is measurements.json's (hwnas.measured)
    note: NotRequired[str]


class MeasurementEntry(TypedDict):
    """One model in ``measurements.json`` ``models``: the quiet measurement phase's record."""

    model: str  # the file timed
    model_of: NotRequired[str]  # a childnet's: the trial whose model it is (absent in older files)
    measured: MeasuredRecord


class MeasurementsRecord(TypedDict):
    """``measurements.json``: every model the quiet phase timed, by key (a childnet's ops,
    space-separated, or ``baseline:<name>``); the one place its measurements are written."""

    reference: dict | None  # the LUT's speed reference
    protocol: dict  # the measure config's protocol
    models: dict  # key -> MeasurementEntry


class BaselineRecord(TypedDict):
    """A row of ``baselines.json`` (``sweep.baselines``): a trained hand-designed network and,
    as a childnet's, its ``measured`` record (pending while the quiet phase times it)."""

    name: str
    width: float
    stem_stride: int
    input_shape: list[int]
    num_classes: int
    test_acc: float | None
    train_seconds: float
    epochs: int
    params: int
    flops: int
    model_energy_mj: float | None  # modeled, never measured
    model_energy_source: str
    weights: str
    model: str | None
    deploy: dict
    note: str
    measured: MeasuredRecord


class DataRecord(TypedDict):
    """What a model was trained on and takes (``hwnas.data.data_record``; sweep.json's has
    ``root`` and no statistics: ``hwnas.data.check_data``)."""

    dataset: str
    classes: list[str]  # in label order
    num_classes: int
    input_shape: list[int]  # [C, H, W]
    source: NotRequired[str]
    root: NotRequired[str | None]
    mean: NotRequired[list[float]]  # per channel, [0, 1] units: what the inputs are normalized with
    std: NotRequired[list[float]]
    sizes: NotRequired[dict]  # weights, arch, test
    streamed: NotRequired[bool]


class MetricsRecord(TypedDict):
    """``child/metrics.json``: the retrained childnet, its estimates and its measurement."""

    test_acc: float
    params: int
    flops: int
    ops: list[str]
    space: SpaceRecord
    lut: LutEstimate
    lut_estimates: list[LutEstimate]
    measured: MeasuredRecord
    train_seconds: float
    epochs: int
    model: str | None  # the deployed file (deploy.file)
    weights: str | None
    reused_from: str | None
    deploy: NotRequired[DeployRecord | None]  # null with child.export: none
    data: NotRequired[DataRecord]  # absent in childnets trained before it existed


class FinalRecord(TypedDict):
    """``final``: how a final model was trained (``childnet.finalize``)."""

    recipe: dict  # the config's final section
    trial: NotRequired[str | None]  # the trial whose architecture it is
    proxy_test_acc: NotRequired[float | None]  # that trial's childnet (child recipe) test accuracy


class FinalMetricsRecord(MetricsRecord):
    """``final/<trial folder>/metrics.json``: a childnet's metrics, trained with the final recipe."""

    final: FinalRecord


class ResultRow(TypedDict):
    """The ``done`` row of a trial's ``result.json``: the keys below are the project's (Ray
    Tune adds its own, e.g. ``trial_id``, ``time_total_s``; ``check_record(..., extra=True)``)."""

    phase: Literal["done"]
    epoch: int
    test_acc: float
    lut_latency_ms: float
    lut_energy_mj: float | None
    measured_latency_ms: float | None
    measured_energy_mj: float | None
    measured_device: str | None
    measured_node: NotRequired[str | None]
    params: int
    flops: int
    ops: str
    reused_from: str | None
    trial_seconds: float
    within_budget: bool | None
    budget_basis: str | None
    val_acc: NotRequired[float | None]  # the supernet's last validation accuracy


class SweepRecord(TypedDict):
    """``sweep.json``: the experiment's config, objectives, LUT and runs."""

    config: dict
    trials: int
    strategy: Strategy
    dominant: Dominant  # sweep.dominant (older records: mode, read as dominant)
    objective: str
    metrics: list[str]
    directions: list[str]  # per metric: max | min
    luts: list[str]
    lut: dict
    device: str
    knobs: dict | None
    warmup: dict | None
    baselines: str | None
    runs: list[dict]
    optuna: NotRequired[dict | None]  # {"storage": "sqlite:///…/optuna.db", "study": name}; null: random strategy
    synthetic: NotRequired[bool]  # the tests' made-up experiments (testdata/) say so
    data: NotRequired[DataRecord]  # the data's classes and input shape; absent before it existed


def result_rows(
    trial: str | Path, running: bool = False, skipped: list | None = None, what: str = "file"
) -> list[dict]:
    """The rows Ray Tune appended to ``<trial>/result.json`` (one JSON object per line), oldest
    first; none before the trial's first report (no file yet). The last row of a finished trial
    is a ``ResultRow``.

    One rule for a line that is not valid JSON (not UTF-8, truncated, garbled): the last line
    of a ``running`` trial's file without its line end yet is a write in progress (Ray appends
    while the trial runs): it is left out and its number (1-based) added to ``skipped``.
    Anywhere else (a finished trial's file, a line before the last, a complete line) it is
    damage, since leaving it out would change the trial: a ``UserError`` naming ``what``, the
    file and the line; so is a line holding another JSON type than an object. Old rows are
    read with their renamed keys under the new names (``hwnas.keys``)."""
    path = Path(trial) / RESULT
    if not path.is_file():
        return []
    with path.open("rb") as fh:  # bytes: a write in progress may end inside a UTF-8 character
        lines = [(n, line) for n, line in enumerate(fh, 1) if line.strip()]
    rows = []
    for i, (lineno, line) in enumerate(lines):
        try:
            row = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            if running and i == len(lines) - 1 and not line.endswith(b"\n"):
                if skipped is not None:
                    skipped.append(lineno)
                continue
            raise UserError(f"{what} {path}: line {lineno} is not valid JSON (damaged)") from None
        if not isinstance(row, dict):
            raise UserError(f"{what} {path}: line {lineno}: expected a JSON object")
        rows.append(upgrade(row, "result_row", str(path)))
    return rows


def check_record(record, kind: type, where: str = "record", extra: bool = False) -> None:
    """Raise ``ValueError`` naming the first field of ``record`` that ``kind`` (one of the
    TypedDicts above) does not allow: missing required key, unknown key (allowed with
    ``extra``), wrong type."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected an object, got {type(record).__name__}")
    hints = typing.get_type_hints(kind)
    missing = sorted(kind.__required_keys__ - record.keys())
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(record.keys() - hints.keys())
    if unknown and not extra:
        raise ValueError(f"{where}: unknown {', '.join(unknown)}")
    for key, value in record.items():
        if key in hints:
            _check_value(value, hints[key], f"{where}.{key}")


def _check_value(value, tp, where: str) -> None:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.NotRequired, typing.Required):
        return _check_value(value, args[0], where)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in args:
            try:
                return _check_value(value, arg, where)
            except ValueError as err:
                errors.append(str(err))
        raise ValueError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
        return None
    if typing.is_typeddict(tp):
        return check_record(value, tp, where)
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list, got {type(value).__name__}")
        for i, item in enumerate(value):
            _check_value(item, args[0], f"{where}[{i}]")
        return None
    if tp is type(None):
        if value is not None:
            raise ValueError(f"{where}: expected null, got {value!r}")
        return None
    expected = {float: (int, float), int: (int,), str: (str,), bool: (bool,), dict: (dict,)}[tp]
    if not isinstance(value, expected) or (tp in (int, float) and isinstance(value, bool)):
        raise ValueError(f"{where}: expected {tp.__name__}, got {type(value).__name__} {value!r:.40}")
    return None
