"""The bad-input matrix: every CLI x the bad inputs the hardening issues named.

Each case builds its files in a fresh folder, calls the CLI's ``main(argv)`` in this
process and expects: exit code 2, exactly one stderr line ``error: ...`` containing
``expect``, no traceback, nothing written or changed in the folder, and no code run
from a crafted file (``MARKER`` never appears). Run by ``tests/test_bad_inputs.py``
(``bench/bad_inputs.py`` runs that test and counts its outcomes).

The generators of the crafted model files are here: a raw pickle whose unpickling
calls ``os.system``, a ``torch.save``-shaped zip holding that pickle, a TorchScript
file whose ``__setstate__`` creates a file while it loads, a ``torch.export``
archive, and data files with bad metadata or weights.

Guards: Ray's start (``sweep.startup.connect``), the sweep's LUT preparation and
``lut.profile.profile_lut`` raise when reached, so a case that slips through fails
(as a traceback) instead of starting a sweep or a profile.
"""

import contextlib
import hashlib
import importlib
import io
import json
import os
import pickle
import shlex
import traceback
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import torch

MARKER = "CODE_RAN"
ARCH8 = ["k3_e3", "skip", "k5_e1_g2", "skip", "k3_e6", "k5_e3", "skip", "k3_e1"]


# --- generators of crafted files ------------------------------------------------------


class _Payload:
    """Unpickling this runs ``touch <marker>``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def evil_pickle(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"meta": _Payload(marker)}, protocol=2))
    return path


def evil_zip(path: Path, marker: Path) -> Path:
    """Shaped like a ``torch.save`` archive; its data.pkl runs the payload when unpickled."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"meta": _Payload(marker), "state_dict": {}}, protocol=2))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return path


def zip_with_member(path: Path, member: str) -> Path:
    """A real data file plus one foreign member (e.g. TorchScript code)."""
    data_file(path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(member, "import os\nos.system('touch x')\n")
    return path


class _Writer(torch.nn.Module):
    """Creates the file ``target`` names whenever it is unpickled (TorchScript ``__setstate__``)."""

    def __init__(self, target: str):
        super().__init__()
        self.target = target

    def forward(self, x):
        return x

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.target, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.target = state[0]
        written = torch.from_file(state[0], shared=True, size=8).numel()  # used: not optimized away
        self.training = state[1] and written >= 0


def torchscript_file(path: Path, marker: Path) -> Path:
    """A TorchScript file that creates ``marker`` while it is loaded (``__setstate__``
    calling ``torch.from_file(..., shared=True)``), with the project's metadata."""
    meta = {"input_shape": [3, 32, 32], "format": "torchscript"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still loadable
        torch.jit.save(torch.jit.script(_Writer(str(marker))), str(path), _extra_files={"hwnas.json": json.dumps(meta)})
    return path


def export_archive(path: Path) -> Path:
    net = torch.nn.Linear(4, 2)
    torch.export.save(torch.export.export(net, (torch.zeros(1, 4),)), str(path))
    return path


def _space_meta(width=0.25):
    return {"name": "fbnet-cpu", "width": width, "num_classes": 10}


def data_file(path: Path, meta: dict | None = None, state: Callable | None = None, top: dict | None = None) -> Path:
    """A data file of a small fbnet-cpu childnet, ``meta`` fields replaced, ``state(sd)``
    changing the state dict, ``top`` the whole saved object."""
    from hwnas.network import build_network
    from hwnas.space import get_space

    net = build_network(get_space("fbnet-cpu", 0.25, 10), ARCH8)
    full = {
        "format": "hwnas-model-data",
        "version": 1,
        "input_shape": [3, 32, 32],
        "ops": ARCH8,
        "space": _space_meta(),
    }
    full.update(meta or {})
    sd = net.state_dict()
    if state is not None:
        sd = state(dict(sd))
    torch.save(top if top is not None else {"meta": full, "state_dict": sd}, path)
    return path


def lut_file(path: Path, change: Callable | None = None, text: str | None = None) -> Path:
    """The built-in rpi4 LUT, changed by ``change(data)`` (or replaced by ``text``)."""
    from lut.table import BUILTIN_DIR

    if text is None:
        data = json.loads((BUILTIN_DIR / "rpi4-hwnasbench.json").read_text())
        if change is not None:
            change(data)
        text = json.dumps(data)
    path.write_text(text)
    return path


def _entry(data, layer=0, op="k3_e1"):
    return data["layers"][layer]["ops"][op]


# a billion laughs: 10^9 zeros in a few hundred bytes of nested YAML aliases
ALIAS_BOMB = "loss:\n  alpha:\n    - &l0 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n" + "".join(
    f"    - &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


def sweep_record(exp: Path, **fields) -> Path:
    from hwnas.config import ExperimentConfig, config_to_dict

    exp.mkdir(parents=True, exist_ok=True)
    record = {
        "config": config_to_dict(ExperimentConfig()),
        "trials": 3,
        "lut": {"path": "builtin:rpi4-hwnasbench"},
        "runs": [],
        "warmup": None,
        "baselines": None,
        "knobs": None,
    }
    record.update(fields)
    (exp / "sweep.json").write_text(json.dumps(record))
    (exp / "tuner.pkl").write_bytes(b"")
    return exp


# --- the table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    cli: str  # module whose main(argv) runs
    setup: Callable  # setup(folder) -> argv
    expect: str  # a part of the one error line


def _measure(make):
    # the data-file path (eager PyTorch): what a device loads when it rebuilds the model
    return lambda d: ["--model", str(make(d)), "--runtime", "pytorch"]


def _meas_data(**kw):
    return _measure(lambda d: data_file(d / "m.weights.pt", **kw))


def _estimate(change=None, text=None, arch=None):
    def setup(d):
        lut = lut_file(d / "lut.json", change, text)
        return ["--lut", str(lut), "--arch", arch or ",".join(["skip"] * 22)]

    return setup


def _sweep(*sets, extra=()):
    return lambda d: [*(a for s in sets for a in ("--set", s)), "--storage", str(d / "exps"), *extra]


def _train(*overrides):
    def setup(d):
        (d / "arch.json").write_text(json.dumps({"ops": ARCH8}))
        cfg = d / "c.yaml"
        cfg.write_text("space: {preset: fbnet-cpu, width: 0.25}\n")
        return ["--arch", str(d / "arch.json"), "--config", str(cfg), "--out", str(d / "out"), *overrides]

    return setup


def _train_arch(text):
    def setup(d):
        (d / "arch.json").write_text(text)
        return [
            "--arch",
            str(d / "arch.json"),
            "--config",
            str(Path(__file__).parent.parent / "configs" / "smoke.yaml"),
            "--out",
            str(d / "out"),
        ]

    return setup


def _search(*overrides):
    return lambda d: [
        "--config",
        str(Path(__file__).parent.parent / "configs" / "smoke.yaml"),
        "--out",
        str(d / "out"),
        *overrides,
    ]


def _resume(**fields):
    return lambda d: ["--resume", "--storage", str(d), "--name", sweep_record(d / "e", **fields).name]


def _mark(d):
    return d / MARKER


# --- the user's own data: small folders of real images (tests/image_folders.py) ----------


def _pictures(d: Path, damage=None, **kw) -> Path:
    """A 2-class folder of 16x16 Fashion-MNIST PNGs at ``d/pics``, then ``damage(root)``."""
    from image_folders import image_folder

    root = image_folder(d / "pics", **{"classes": 2, "per_class": 4, "size": 16, **kw})
    if damage:
        damage(root)
    return root


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _first_file(root: Path, *parts: str) -> Path:
    return sorted(root.joinpath(*parts).iterdir())[0]


def _own(make, *sets, cli="sweep.run"):
    """``cli`` on the user's data ``make(folder)`` (an image folder or .npz), dataset named by its suffix."""

    def setup(d):
        root = make(d)
        dataset = "npz" if root.suffix == ".npz" else "imagefolder"
        overrides = [f"data.dataset={dataset}", f"data.root={root}", *sets]
        if cli == "sweep.run":
            return _sweep(*overrides)(d)
        return (_train if cli == "childnet.train" else _search)(*overrides)(d)

    return setup


def _npz(**arrays):
    def make(d):
        from image_folders import npz_file

        return npz_file(d / "data.npz", n_classes=2, per_class=4, **arrays)

    return make


def _loose_images(d):
    from image_folders import class_images, write_images

    write_images(d / "pics", class_images("bag", 3, 16))
    return d / "pics"


def _no_test_class(root):
    for f in (root / "test" / "bag").iterdir():
        f.unlink()
    (root / "test" / "bag").rmdir()


OWN_DATA_CASES = [
    Case("own/folder-no-class-folders", "sweep.run", _own(_loose_images), "no class sub-folders"),
    Case("own/folder-missing", "sweep.run", _own(lambda d: d / "nowhere"), "no such folder"),
    Case(
        "own/folder-empty-class",
        "sweep.run",
        _own(lambda d: _pictures(d, lambda r: (r / "zebra").mkdir())),
        "zebra: empty class",
    ),
    Case(
        "own/folder-not-an-image",
        "sweep.run",
        _own(lambda d: _pictures(d, lambda r: (r / "bag" / "notes.png").write_text("hello"))),
        "notes.png: not a readable PNG/JPEG image",
    ),
    Case(
        "own/folder-truncated-png",
        "sweep.run",
        _own(lambda d: _pictures(d, lambda r: _cut(_first_file(r, "bag")))),
        "bag/0000.png: not a readable PNG/JPEG image",
    ),
    Case(
        "own/folder-truncated-jpeg-train",
        "childnet.train",
        _own(lambda d: _pictures(d, lambda r: _cut(_first_file(r, "bag")), fmt="jpeg"), cli="childnet.train"),
        "bag/0000.jpg: not a readable PNG/JPEG image",
    ),
    Case(
        "own/folder-class-missing-from-test",
        "sweep.run",
        _own(lambda d: _pictures(d, _no_test_class, given=("train", "test"))),
        "test: class 'bag' is missing",
    ),
    Case(
        "own/folder-empty-class-search",
        "supernet.search",
        _own(lambda d: _pictures(d, lambda r: (r / "zebra").mkdir()), cli="supernet.search"),
        "zebra: empty class",
    ),
    Case(
        "own/npz-label-out-of-range",
        "sweep.run",
        _own(_npz(y=np.array([0, 1, 0, 1, 0, 1, 0, 2]))),
        "y: label 2 at index 7 is out of range; expected 0..1",
    ),
    Case(
        "own/npz-pickled-labels",
        "sweep.run",
        _own(_npz(y=np.array([{"a": 1}] * 8, dtype=object))),
        "array y: unreadable",
    ),
    Case(
        "own/npz-not-a-zip",
        "sweep.run",
        _own(lambda d: (d / "data.npz").write_bytes(b"PK\x03\x04 not really") and d / "data.npz"),
        "not a readable .npz file",
    ),
    Case("own/input-size-too-small", "sweep.run", _own(_pictures, "space.input_size=4"), "input_size=4 is too small"),
    Case("own/channels-two", "sweep.run", _own(_pictures, "space.channels=2"), "space.channels"),
    Case("own/root-missing", "sweep.run", _sweep("data.dataset=imagefolder"), "root is required"),
]


CASES = [
    # childnet.measure: model files are data, never code
    Case(
        "measure/garbage",
        "childnet.measure",
        _measure(lambda d: (d / "m.pt").write_bytes(b"garbage") and d / "m.pt"),
        "not an exported childnet",
    ),
    Case(
        "measure/pickle-os-system",
        "childnet.measure",
        _measure(lambda d: evil_pickle(d / "m.pt", _mark(d))),
        "not a torch.save archive",
    ),
    Case(
        "measure/zip-with-evil-pickle",
        "childnet.measure",
        _measure(lambda d: evil_zip(d / "m.pt", _mark(d))),
        "unreadable",
    ),
    Case(
        "measure/torchscript-writes-file",
        "childnet.measure",
        _measure(lambda d: torchscript_file(d / "m.pt", _mark(d))),
        "TorchScript code",
    ),
    Case(
        "measure/torch-export-archive",
        "childnet.measure",
        _measure(lambda d: export_archive(d / "m.pt2")),
        "not an exported childnet",
    ),
    Case(
        "measure/zip-extra-code-member",
        "childnet.measure",
        _measure(lambda d: zip_with_member(d / "m.pt", "archive/code/__torch__.py")),
        "TorchScript code",
    ),
    Case(
        "measure/input-shape-negative",
        "childnet.measure",
        _meas_data(meta={"input_shape": [3, -1, 32]}),
        "meta.input_shape",
    ),
    Case(
        "measure/input-shape-huge",
        "childnet.measure",
        _meas_data(meta={"input_shape": [3, 100000, 100000]}),
        "meta.input_shape",
    ),
    Case(
        "measure/input-shape-string",
        "childnet.measure",
        _meas_data(meta={"input_shape": "3x32x32"}),
        "meta.input_shape",
    ),
    Case(
        "measure/input-shape-other-space",
        "childnet.measure",
        _meas_data(meta={"input_shape": [3, 64, 64]}),
        "meta.input_shape",
    ),
    Case("measure/format-missing", "childnet.measure", _meas_data(meta={"format": "other"}), "meta.format"),
    Case(
        "measure/unknown-space",
        "childnet.measure",
        _meas_data(meta={"space": {"name": "nope", "width": 1.0, "num_classes": 10}}),
        "unknown search space",
    ),
    Case("measure/unknown-op", "childnet.measure", _meas_data(meta={"ops": ["k9_e9"] + ARCH8[1:]}), "unknown op"),
    Case("measure/wrong-op-count", "childnet.measure", _meas_data(meta={"ops": ARCH8[:3]}), "expected 8 ops"),
    Case(
        "measure/width-huge",
        "childnet.measure",
        _meas_data(meta={"space": {"name": "fbnet-cpu", "width": 1e9, "num_classes": 10}}),
        "meta.space.width",
    ),
    Case(
        "measure/classes-zero",
        "childnet.measure",
        _meas_data(meta={"space": {"name": "fbnet-cpu", "width": 0.25, "num_classes": 0}}),
        "num_classes",
    ),
    Case(
        "measure/state-missing-key",
        "childnet.measure",
        _meas_data(state=lambda sd: {k: v for i, (k, v) in enumerate(sd.items()) if i}),
        "does not fit",
    ),
    Case(
        "measure/state-wrong-shape",
        "childnet.measure",
        _meas_data(state=lambda sd: {k: torch.zeros(1) for k in sd}),
        "does not fit",
    ),
    Case(
        "measure/state-not-tensors",
        "childnet.measure",
        _meas_data(state=lambda sd: {k: 1 for k in sd}),
        "named tensors",
    ),
    Case("measure/top-level-list", "childnet.measure", _meas_data(top=[1, 2, 3]), "exactly meta and state_dict"),
    Case(
        "measure/unknown-baseline",
        "childnet.measure",
        _meas_data(meta={"baseline": "vgg99", "num_classes": 10}),
        "meta.baseline",
    ),
    Case(
        "measure/baseline-classes",
        "childnet.measure",
        _meas_data(meta={"baseline": "resnet18", "num_classes": -3}),
        "meta.num_classes",
    ),
    Case("measure/missing-file", "childnet.measure", lambda d: ["--model", str(d / "none.pt")], "not found"),
    Case("measure/a-folder", "childnet.measure", lambda d: ["--model", str(d)], "not found"),
    Case(
        "measure/empty-file",
        "childnet.measure",
        _measure(lambda d: (d / "m.pt").write_bytes(b"") or d / "m.pt"),
        "not a torch.save archive",
    ),
    Case(
        "measure/truncated",
        "childnet.measure",
        _measure(lambda d: (d / "t.pt").write_bytes(data_file(d / "m.weights.pt").read_bytes()[:3000]) and d / "t.pt"),
        "not an exported childnet",
    ),
    Case(
        "measure/repeats-zero",
        "childnet.measure",
        lambda d: ["--model", str(data_file(d / "m.pt")), "--repeats", "0"],
        "repeats",
    ),
    Case(
        "measure/unknown-meter",
        "childnet.measure",
        lambda d: ["--model", str(data_file(d / "m.pt")), "--meter", "joulemeter"],
        "unknown meter",
    ),
    Case(
        "measure/meter-replay-missing",
        "childnet.measure",
        lambda d: ["--model", str(data_file(d / "m.pt")), "--meter", "pmic", "--meter-replay", str(d / "none.json")],
        "no such recording",
    ),
    Case(
        "measure/meter-replay-of-another-meter",
        "childnet.measure",
        lambda d: [
            "--model",
            str(data_file(d / "m.pt")),
            "--meter",
            "um",
            "--meter-replay",
            str(Path(__file__).parent / "data" / "meters" / "pmic-real.json"),
        ],
        "meter: expected 'um'",
    ),
    Case(
        "measure/meter-replay-bad-frames",
        "childnet.measure",
        lambda d: (
            (d / "r.json").write_text(
                '{"format": "hwnas-meter-recording", "version": 1, "meter": "pmic", "synthetic": true, '
                '"frames": [[0, "a"], [-1, "b"]]}'
            )
            and ["--model", str(data_file(d / "m.pt")), "--meter", "pmic", "--meter-replay", str(d / "r.json")]
        ),
        "frames[1]",
    ),
    # lut.estimate: LUT values
    Case("lut/negative-entry", "lut.estimate", _estimate(lambda t: _entry(t).update(latency_ms=-1.0)), "got -1.0"),
    Case(
        "lut/negative-skip-entry",
        "lut.estimate",
        _estimate(lambda t: _entry(t, op="skip").update(latency_ms=-0.5)),
        "non-negative",
    ),
    Case("lut/zero-entry", "lut.estimate", _estimate(lambda t: _entry(t).update(latency_ms=0.0)), "positive number"),
    Case(
        "lut/nan-entry", "lut.estimate", _estimate(lambda t: _entry(t).update(latency_ms=float("nan"))), "finite number"
    ),
    Case(
        "lut/huge-int-entry",
        "lut.estimate",
        _estimate(text=json.dumps({"format": "hwnas-lut"})[:-1] + ', "version": ' + "9" * 400 + "}"),
        "version",
    ),
    Case(
        "lut/huge-int-value", "lut.estimate", _estimate(lambda t: _entry(t).update(latency_ms=10**400)), "finite number"
    ),
    Case("lut/digits-over-limit", "lut.estimate", _estimate(text='{"version": ' + "9" * 5000 + "}"), "not usable JSON"),
    Case("lut/deeply-nested", "lut.estimate", _estimate(text="[" * 200000 + "]" * 200000), "nested too deeply"),
    Case(
        "lut/overflowing-sum",
        "lut.estimate",
        _estimate(lambda t: [e.update(latency_ms=1e308) for l in t["layers"] for e in l["ops"].values()]),
        "overflows",
    ),
    Case(
        "lut/calibration-scale-zero",
        "lut.estimate",
        _estimate(lambda t: t.update(calibration={"latency_scale": 0.0, "latency_offset_ms": 0.0})),
        "calibration.latency_scale",
    ),
    Case(
        "lut/calibration-scale-negative",
        "lut.estimate",
        _estimate(lambda t: t.update(calibration={"latency_scale": -2.0, "latency_offset_ms": 0.0})),
        "calibration.latency_scale",
    ),
    Case(
        "lut/negative-fixed",
        "lut.estimate",
        _estimate(lambda t: t["fixed"].update(latency_ms=-5.0)),
        "fixed.latency_ms",
    ),
    # metadata: every number finite and in range; the layers' shapes those of the LUT's own space
    Case("lut/nan-batch-size", "lut.estimate", _estimate(lambda t: t.update(batch_size=float("nan"))), "batch_size"),
    Case("lut/batch-size-zero", "lut.estimate", _estimate(lambda t: t.update(batch_size=0)), "field batch_size"),
    Case(
        "lut/nan-device-threads",
        "lut.estimate",
        _estimate(lambda t: t["device"].update(threads=float("nan"))),
        "field device.threads",
    ),
    Case(
        "lut/inf-protocol-field",
        "lut.estimate",
        _estimate(lambda t: t["protocol"].update(repeats=float("inf"))),
        "field protocol.repeats: expected a finite number",
    ),
    Case(
        "lut/inf-space-width",
        "lut.estimate",
        _estimate(lambda t: t["space"].update(width=float("-inf"))),
        "field space.width",
    ),
    Case(
        "lut/input-shape-negative",
        "lut.estimate",
        _estimate(lambda t: t.update(input_shape=[3, -32, 32])),
        "field input_shape",
    ),
    Case(
        "lut/layer-shape-not-the-spaces",
        "lut.estimate",
        _estimate(lambda t: t["layers"][0].update(in_channels=-500)),
        "field layers[0].in_channels: expected 16 (layer 0 of its space fbnet-cifar), got -500",
    ),
    Case(
        "lut/layer-stride-not-the-spaces",
        "lut.estimate",
        _estimate(lambda t: t["layers"][6].update(stride=2)),
        "field layers[6].stride: expected 1",
    ),
    Case(
        "lut/layer-missing",
        "lut.estimate",
        _estimate(lambda t: t["layers"].pop(7)),
        "field layers: expected the 22 layers of its space fbnet-cifar, got 21",
    ),
    Case("lut/truncated", "lut.estimate", _estimate(text='{"format": "hwnas-lut", "layers": [{'), "not valid JSON"),
    Case("lut/top-level-list", "lut.estimate", _estimate(text="[1, 2]"), "(top level)"),
    Case(
        "lut/builtin-path-escape",
        "lut.estimate",
        lambda d: ["--lut", "builtin:../../configs/default", "--arch", "skip"],
        "unknown builtin LUT",
    ),
    Case("lut/arch-too-short", "lut.estimate", _estimate(arch="skip,skip"), "expected 22 ops"),
    # lut.validate / lut.profile: flags checked before anything is timed
    Case(
        "validate/rounds-zero",
        "lut.validate",
        lambda d: ["--lut", "builtin:rpi4-hwnasbench", "--archs", "4", "--rounds", "0"],
        "--rounds",
    ),
    Case(
        "validate/repeats-zero",
        "lut.validate",
        lambda d: ["--lut", "builtin:rpi4-hwnasbench", "--archs", "4", "--repeats", "0"],
        "--repeats",
    ),
    Case(
        "validate/warmup-negative",
        "lut.validate",
        lambda d: ["--lut", "builtin:rpi4-hwnasbench", "--archs", "4", "--warmup", "-1"],
        "--warmup",
    ),
    Case(
        "profile/out-is-a-folder", "lut.profile", lambda d: ["--space", "fbnet-cpu", "--out", str(d)], "is a directory"
    ),
    Case(
        "profile/out-under-a-file",
        "lut.profile",
        lambda d: ["--space", "fbnet-cpu", "--out", str((d / "f").write_text("x") and d / "f" / "lut.json")],
        "is a file",
    ),
    Case(
        "profile/threads-zero",
        "lut.profile",
        lambda d: ["--space", "fbnet-cpu", "--out", str(d / "l.json"), "--threads", "0"],
        "--threads",
    ),
    Case(
        "profile/rounds-zero",
        "lut.profile",
        lambda d: ["--space", "fbnet-cpu", "--out", str(d / "l.json"), "--rounds", "0"],
        "--rounds",
    ),
    Case(
        "profile/unknown-space",
        "lut.profile",
        lambda d: ["--space", "resnet", "--out", str(d / "l.json")],
        "unknown search space",
    ),
    # sweep.run: every section checked before Ray starts and before anything is written
    Case("sweep/child-batch-zero", "sweep.run", _sweep("child.batch_size=0"), "child.batch_size"),
    Case("sweep/data-batch-negative", "sweep.run", _sweep("data.batch_size=-4"), "data.batch_size"),
    Case("sweep/child-lr-negative", "sweep.run", _sweep("child.lr=-0.1"), "child.lr"),
    Case("sweep/search-lr-negative", "sweep.run", _sweep("search.w_lr=-1"), "search.w_lr"),
    Case("sweep/label-smoothing-one", "sweep.run", _sweep("child.label_smoothing=1"), "child.label_smoothing"),
    Case("sweep/train-size-zero", "sweep.run", _sweep("data.train_size=0"), "data.train_size"),
    Case("sweep/test-size-negative", "sweep.run", _sweep("data.test_size=-1"), "data.test_size"),
    Case("sweep/threads-negative", "sweep.run", _sweep("child.threads=-2"), "child.threads"),
    Case("sweep/measure-repeats-zero", "sweep.run", _sweep("measure.repeats=0"), "measure.repeats"),
    Case("sweep/measure-tries-zero", "sweep.run", _sweep("measure.tries=0"), "measure.tries"),
    Case("sweep/max-rel-iqr-zero", "sweep.run", _sweep("measure.max_rel_iqr=0"), "measure.max_rel_iqr"),
    Case("sweep/unknown-meter", "sweep.run", _sweep("measure.meter=joules"), "measure.meter"),
    Case("sweep/timeout-negative", "sweep.run", _sweep("sweep.measure_timeout_s=-5"), "sweep.measure_timeout_s"),
    Case("sweep/gpus-negative", "sweep.run", _sweep("sweep.gpus_per_trial=-1"), "sweep.gpus_per_trial"),
    Case("sweep/knobs-unknown", "sweep.run", _sweep("sweep.knobs=big"), "sweep.knobs"),
    Case("sweep/scheduler-unknown", "sweep.run", _sweep("sweep.scheduler=hyperband"), "sweep.scheduler"),
    Case("sweep/search-mode-unknown", "sweep.run", _sweep("search.execution=fast"), "search.execution"),
    Case("sweep/export-unknown", "sweep.run", _sweep("child.export=onnx"), "child.export"),
    Case("sweep/dataset-unknown", "sweep.run", _sweep("data.dataset=mnist"), "data.dataset"),
    Case("sweep/width-zero", "sweep.run", _sweep("space.width=0"), "space.width"),
    Case("sweep/temperature-zero", "sweep.run", _sweep("search.temperature=0"), "search.temperature"),
    Case("sweep/override-not-yaml", "sweep.run", _sweep("child.lr=[1,"), "not valid YAML"),
    Case("sweep/override-huge-int", "sweep.run", _sweep("sweep.trials=" + "9" * 30), "2^63-1"),
    Case("sweep/override-not-a-number", "sweep.run", _sweep("child.lr=fast"), "expected a number"),
    Case("sweep/budget-negative", "sweep.run", _sweep(extra=("--max-latency-ms", "-1")), "sweep.budget.max_latency_ms"),
    Case("sweep/budget-infinite", "sweep.run", _sweep(extra=("--max-energy-mj", "inf")), "sweep.budget.max_energy_mj"),
    Case(
        "sweep/config-not-yaml",
        "sweep.run",
        lambda d: [
            "--config",
            str((d / "c.yaml").write_text("child: [1,\n") and d / "c.yaml"),
            "--storage",
            str(d / "exps"),
        ],
        "not valid YAML",
    ),
    Case(
        "sweep/config-top-level-list",
        "sweep.run",
        lambda d: ["--config", str((d / "c.yaml").write_text("- 1\n") and d / "c.yaml"), "--storage", str(d / "exps")],
        "mapping at the top level",
    ),
    Case(
        "sweep/config-alias-bomb",
        "sweep.run",
        lambda d: [
            "--config",
            str((d / "c.yaml").write_text(ALIAS_BOMB) and d / "c.yaml"),
            "--storage",
            str(d / "exps"),
        ],
        "YAML alias *l0 at line 4",
    ),
    Case("sweep/address-bad-port", "sweep.run", _sweep(extra=("--address", "127.0.0.1:99999")), "port"),
    Case("sweep/resume-trials-string", "sweep.run", _resume(trials="many"), "field trials"),
    Case("sweep/resume-lut-not-object", "sweep.run", _resume(lut=[1]), "field lut"),
    Case("sweep/resume-runs-not-list", "sweep.run", _resume(runs="x"), "field runs"),
    Case(
        "sweep/resume-config-bad-value", "sweep.run", _resume(config={"child": {"batch_size": 0}}), "child.batch_size"
    ),
    Case(
        "sweep/resume-record-not-json",
        "sweep.run",
        lambda d: [
            "--resume",
            "--storage",
            str(d),
            "--name",
            ((d / "e").mkdir() or (d / "e" / "sweep.json").write_text("{trunc") and "e"),
        ],
        "not valid JSON",
    ),
    # childnet.train / supernet.search: config and architecture files, before any training
    Case("train/batch-zero", "childnet.train", _train("child.batch_size=0"), "child.batch_size"),
    Case("train/label-smoothing", "childnet.train", _train("child.label_smoothing=-0.1"), "child.label_smoothing"),
    Case("train/measure-rounds-zero", "childnet.train", _train("measure.rounds=0"), "measure.rounds"),
    Case("train/arch-not-json", "childnet.train", _train_arch("{ops: ["), "not valid JSON"),
    Case("train/arch-deeply-nested", "childnet.train", _train_arch("[" * 200000 + "]" * 200000), "nested too deeply"),
    Case("train/arch-huge-int", "childnet.train", _train_arch('{"ops": ' + "9" * 5000 + "}"), "not usable JSON"),
    Case("search/temperature-negative", "supernet.search", _search("search.temperature=-1"), "search.temperature"),
    Case("search/momentum-one", "supernet.search", _search("search.w_momentum=1"), "search.w_momentum"),
    Case("search/steps-zero", "supernet.search", _search("search.steps_per_epoch=0"), "search.steps_per_epoch"),
    Case("search/loss-form", "supernet.search", _search("loss.form=sum"), "loss.form"),
    Case("search/alpha-negative", "supernet.search", _search("loss.alpha=-1"), "loss.alpha"),
    # sweep.measurements and pareto.report
    Case("measurements/no-record", "sweep.measurements", lambda d: [str(d)], "no sweep experiment"),
    Case(
        "measurements/record-trials-string",
        "sweep.measurements",
        lambda d: [str(sweep_record(d / "e", trials="3"))],
        "field trials",
    ),
    Case(
        "report/no-experiment",
        "pareto.report",
        lambda d: [str(d / "none"), "--out", str(d / "r")],
        "no such experiment",
    ),
    Case(
        "report/out-is-a-file",
        "pareto.report",
        lambda d: [str(sweep_record(d / "e")), "--out", str((d / "r").write_text("x") and d / "r")],
        "not a directory",
    ),
    *OWN_DATA_CASES,
]


# --- running one case -----------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    code: object
    stderr: str
    traceback: bool
    half_written: bool
    code_ran: bool

    @property
    def one_line(self) -> bool:
        lines = self.stderr.strip().splitlines()
        return len(lines) == 1 and lines[0].startswith("error: ") and self.case.expect in lines[0]

    @property
    def ok(self) -> bool:
        return self.code == 2 and self.one_line and not self.traceback and not self.half_written and not self.code_ran


def _snapshot(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


class _Reached(RuntimeError):
    pass


def _reached(*args, **kwargs):
    raise _Reached("a bad input got past the checks: Ray/profiling would start now")


def run_case(case: Case, folder: Path) -> Outcome:
    """Build the case's files in ``folder`` (empty), run the CLI, judge the result."""
    folder.mkdir(parents=True, exist_ok=True)
    argv = case.setup(folder)
    before = _snapshot(folder)
    module = importlib.import_module(case.cli)
    err, out = io.StringIO(), io.StringIO()
    code, tb = None, False
    guards = [
        mock.patch("sweep.startup.connect", _reached),
        mock.patch("sweep.startup.prepare_lut", _reached),
        mock.patch("lut.profile.profile_lut", _reached),
        mock.patch.dict(os.environ, {"HWNAS_CACHE": str(folder / ".cache")}),
    ]
    with contextlib.ExitStack() as stack:
        for guard in guards:
            stack.enter_context(guard)
        stack.enter_context(contextlib.redirect_stderr(err))
        stack.enter_context(contextlib.redirect_stdout(out))
        try:
            code = module.main(argv)
        except SystemExit as exit_:
            code = exit_.code
        except BaseException:  # noqa: BLE001 - the matrix records every escape as a traceback
            tb = True
            err.write(traceback.format_exc())
    stderr = err.getvalue()
    ran = (folder / MARKER).exists()
    after = {k: v for k, v in _snapshot(folder).items() if k != MARKER and not k.startswith(".cache")}
    return Outcome(case, code, stderr, tb or "Traceback" in stderr, after != before, ran)


def _import_guards() -> None:
    for name in ("sweep.run", "lut.profile"):
        importlib.import_module(name)


_import_guards()
