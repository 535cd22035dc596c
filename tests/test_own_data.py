"""The user's own data (hwnas.userdata, hwnas.data): image folders and .npz files of real
Fashion-MNIST images at the user's input size; in memory or streamed, the same batches."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from image_folders import CLASS_NAMES, class_images, image_folder, npz_file, write_images

from hwnas.config import load_config
from hwnas.data import DEBIAN_FASHION_MNIST, TensorLoader, check_data, data_record, make_splits
from hwnas.errors import UserError
from hwnas.records import DataRecord, MetricsRecord, SweepRecord, check_record

pytestmark = pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("own-data")
    return {
        "flat": image_folder(base / "flat", classes=3, per_class=40, size=16),
        "jpeg": image_folder(base / "jpeg", classes=3, per_class=20, size=16, fmt="jpeg"),
        "given": image_folder(base / "given", classes=3, per_class=20, size=16, given=("train", "val", "test")),
        "mixed": image_folder(base / "mixed", classes=3, per_class=20, size=16, rgb_every=4),
        "npz": npz_file(base / "x.npz", n_classes=3, per_class=40, size=16),
        "npz_z": npz_file(base / "xz.npz", n_classes=3, per_class=40, size=16, compressed=True),
    }


def _splits(name, root, shape=(1, 16, 16), **kw):
    return make_splits(name, shape, str(root), seed=kw.pop("seed", 0), workers=kw.pop("workers", 0), **kw)


def _batches(ds, epoch=0, augment=False):
    loader = TensorLoader(ds, 16, seed=3, augment=augment)
    loader.set_epoch(epoch)
    return list(loader)


# --- reading ----------------------------------------------------------------------------


def test_a_flat_folder_gives_its_classes_and_a_seeded_stratified_split(folders):
    s = _splits("imagefolder", folders["flat"])
    assert s.train.classes == CLASS_NAMES[:3]
    assert s.train.num_classes == 3
    assert (len(s.train), len(s.test)) == (96, 24)  # 20% of each class's 40 held out
    assert torch.bincount(s.test.labels).tolist() == [8, 8, 8]
    assert (len(s.weights), len(s.arch)) == (77, 19)
    again, other = _splits("imagefolder", folders["flat"]), _splits("imagefolder", folders["flat"], seed=1)
    assert torch.equal(s.test.images, again.test.images)
    assert not torch.equal(s.test.images, other.test.images)
    train = {bytes(x.numpy()) for x in s.train.images}
    assert not train & {bytes(x.numpy()) for x in s.test.images}


def test_statistics_come_from_the_training_split(folders):
    s = _splits("imagefolder", folders["flat"])
    x = s.train.images.double() / 255
    assert s.train.mean[0] == pytest.approx(x.mean().item(), abs=1e-9)
    assert s.train.std[0] == pytest.approx(x.std(unbiased=False).item(), abs=1e-9)
    assert s.test.mean == s.train.mean
    assert s.weights.std == s.train.std
    xb, _ = next(iter(TensorLoader(s.train, len(s.train), shuffle=False)))
    assert xb.mean().item() == pytest.approx(0, abs=1e-5)
    assert xb.std(unbiased=False).item() == pytest.approx(1, abs=1e-4)


def test_images_are_resized_to_the_input_size_and_gray_replicated(folders):
    s = _splits("imagefolder", folders["jpeg"], shape=(3, 24, 24))
    assert s.train.images.shape[1:] == (3, 24, 24)
    assert torch.equal(s.train.images[:, 0], s.train.images[:, 2])
    assert s.train.images.float().std() > 20  # real pictures, not blank


def test_given_train_val_test_folders(folders):
    s = _splits("imagefolder", folders["given"])
    assert (len(s.weights), len(s.arch), len(s.train), len(s.test)) == (60, 60, 120, 60)
    assert torch.equal(s.train.images[60:], s.arch.images)  # val/ is the part theta trains on


def test_mixed_gray_and_rgb_are_converted_and_counted(folders, capsys):
    s = _splits("imagefolder", folders["mixed"])
    assert s.train.images.shape[1] == 1
    out = capsys.readouterr().out  # every 4th of each class's 20 was saved as RGB
    assert f"note: {folders['mixed']}: 15 of 60 images converted to gray (space.channels=1)" in out


def test_npz_arrays(folders):
    s = _splits("npz", folders["npz"], shape=(3, 32, 32))
    assert s.train.classes == CLASS_NAMES[:3]
    assert s.train.images.shape[1:] == (3, 32, 32)
    assert torch.bincount(s.test.labels).tolist() == [8, 8, 8]


# --- memory budget: streamed batches equal the in-memory ones ----------------------------


@pytest.mark.parametrize("kind", ["flat", "npz", "npz_z"])
def test_streamed_batches_equal_in_memory_batches(folders, kind):
    name = "npz" if kind.startswith("npz") else "imagefolder"
    memory = _splits(name, folders[kind], shape=(1, 20, 20))
    streamed = _splits(name, folders[kind], shape=(1, 20, 20), memory_budget_mb=0.01, workers=2)
    assert not memory.train.streamed
    assert streamed.train.streamed
    assert streamed.test.streamed
    if kind == "npz":  # saved uncompressed: read in place, never loaded whole
        assert isinstance(streamed.train.items.x, np.memmap)
    assert streamed.train.mean == memory.train.mean
    assert streamed.train.std == memory.train.std
    for part in ("weights", "arch", "test"):
        for epoch in (0, 1):
            a = _batches(getattr(memory, part), epoch, augment=part == "weights")
            b = _batches(getattr(streamed, part), epoch, augment=part == "weights")
            assert len(a) == len(b) > 0
            for (xa, ya), (xb, yb) in zip(a, b):
                assert torch.equal(xa, xb)
                assert torch.equal(ya, yb)
    assert data_record(streamed)["streamed"]
    assert not data_record(memory)["streamed"]
    assert {k: v for k, v in data_record(memory).items() if k != "streamed"} == {
        k: v for k, v in data_record(streamed).items() if k != "streamed"
    }


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 40, 40)])
def test_a_builtin_dataset_too_large_for_the_budget_streams_the_same_batches(shape):
    kw = {"train_size": 200, "test_size": 100, "seed": 0, "workers": 2}
    memory = make_splits("fashion-mnist", shape, **kw)
    streamed = make_splits("fashion-mnist", shape, memory_budget_mb=1.0, **kw)
    assert not memory.train.streamed
    assert streamed.train.streamed
    for part in ("weights", "test"):
        for (xa, ya), (xb, yb) in zip(_batches(getattr(memory, part)), _batches(getattr(streamed, part))):
            assert torch.equal(xa, xb)
            assert torch.equal(ya, yb)


# --- config: input size and channels, classes from the data ------------------------------


def _cfg(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(path)


def test_the_space_takes_the_users_input_size_and_the_datas_classes(tmp_path, folders):
    cfg = _cfg(
        tmp_path,
        "space: {preset: fbnet-cpu, input_size: 64, channels: 1}\n"
        f"data: {{dataset: imagefolder, root: {folders['flat']}}}\n",
    )
    space = cfg.search_space()
    assert space.input_shape == (1, 64, 64)
    assert space.num_classes == 3
    default = load_config(None).search_space()
    assert default.input_shape == (3, 32, 32)
    assert space.layers_hash() != default.layers_hash()
    assert space.hash() != default.hash()
    assert space.layers[0].in_hw == 32  # the stem halves 64


def test_a_lut_of_another_input_shape_is_refused_in_one_line():
    from hwnas.space import get_space
    from lut import load_lut

    lut = load_lut("builtin:rpi4-hwnasbench")
    with pytest.raises(UserError, match=r"made for inputs 3x32x32, but the space takes 1x64x64") as err:
        lut.check_space(get_space("fbnet-cifar", 1.0, 10, input_size=64, channels=1))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "text, expect",
    [
        ("space: {preset: fbnet-cpu, input_size: 4}", "input_size=4 is too small for preset fbnet-cpu"),
        ("space: {channels: 2}", "space.channels 2: expected one of 1, 3"),
        ("data: {dataset: imagefolder}", "root is required for dataset imagefolder"),
        ("data: {memory_budget_mb: 0}", "data.memory_budget_mb"),
        ("data: {test_fraction: 1}", "data.test_fraction"),
    ],
)
def test_bad_space_and_data_fields(tmp_path, text, expect):
    with pytest.raises(UserError, match=expect):
        _cfg(tmp_path, text + "\n")


def test_fewer_space_classes_than_the_data_has(tmp_path, folders):
    cfg = _cfg(tmp_path, f"space: {{num_classes: 2}}\ndata: {{dataset: imagefolder, root: {folders['flat']}}}\n")
    with pytest.raises(UserError, match="space.num_classes=2 but imagefolder .* has 3 classes"):
        check_data(cfg.data, cfg.search_space())


def test_check_data_records_the_classes(tmp_path, folders):
    cfg = _cfg(tmp_path, f"space: {{channels: 1, input_size: 16}}\ndata: {{dataset: npz, root: {folders['npz']}}}\n")
    assert check_data(cfg.data, cfg.search_space()) == {
        "dataset": "npz",
        "root": str(folders["npz"]),
        "classes": list(CLASS_NAMES[:3]),
        "num_classes": 3,
        "input_shape": [1, 16, 16],
    }


# --- bad input: one line naming the file --------------------------------------------------


def _flat(root, classes=2, per_class=6):
    return image_folder(root, classes=classes, per_class=per_class, size=16)


def _bad(name, root, **kw):
    with pytest.raises(UserError) as err:
        _splits(name, root, **kw)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_folder_without_class_subfolders(tmp_path):
    write_images(tmp_path / "d", class_images("bag", 3, 16))
    assert (
        _bad("imagefolder", tmp_path / "d")
        == f"{tmp_path / 'd'}: no class sub-folders (expected one folder of images per class, ImageFolder layout)"
    )


def test_empty_class(tmp_path):
    (_flat(tmp_path / "d") / "zebra").mkdir()
    assert "zebra: empty class" in _bad("imagefolder", tmp_path / "d")


@pytest.mark.parametrize("damage", ["text", "cut-png", "cut-jpeg"])
def test_a_file_that_is_not_a_whole_image_is_named(tmp_path, damage):
    root = image_folder(tmp_path / "d", classes=2, per_class=6, size=16, fmt="jpeg" if damage == "cut-jpeg" else "png")
    victim = sorted((root / CLASS_NAMES[1]).iterdir())[2]
    if damage == "text":
        victim = victim.with_name("notes.png")
        victim.write_text("not an image")
    else:
        victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
    assert _bad("imagefolder", root).startswith(f"{victim}: not a readable PNG/JPEG image")
    s = _splits("imagefolder", root, bad_files="skip")  # the config may say: skip it, counted
    assert len(s.train) + len(s.test) == (12 if damage == "text" else 11)


def test_a_class_missing_from_test(tmp_path):
    root = image_folder(tmp_path / "d", classes=3, per_class=4, size=16, given=("train", "test"))
    for f in (root / "test" / CLASS_NAMES[2]).iterdir():
        f.unlink()
    (root / "test" / CLASS_NAMES[2]).rmdir()
    assert _bad("imagefolder", root) == (
        f"{root / 'test'}: class {CLASS_NAMES[2]!r} is missing (train/ has it; every class needs images here)"
    )


def test_train_without_test(tmp_path):
    root = image_folder(tmp_path / "d", classes=2, per_class=4, size=16, given=("train",))
    assert "has train/ but no test/" in _bad("imagefolder", root)


@pytest.mark.parametrize(
    "arrays, expect",
    [
        ({"y": np.array([0, 1, 7] * 20)}, "y: label 7 at index 2 is out of range; expected 0..2"),
        ({"y": np.array([0, -1, 2] * 20), "classes": None}, "y: label -1 at index 1 is out of range"),
        ({"y": np.zeros(59, dtype=np.int64)}, "x has 60 images but y 59 labels"),
        ({"x": np.zeros((60, 16, 16), np.float32)}, "x: dtype float32; expected uint8"),
        ({"y": None}, "no array 'y'"),
        ({"y": np.array([0, 1] * 30)}, f"class {CLASS_NAMES[2]!r} has no images"),
    ],
)
def test_bad_npz(tmp_path, arrays, expect):
    path = npz_file(tmp_path / "bad.npz", n_classes=3, per_class=20, **arrays)
    assert expect in _bad("npz", path)


def test_npz_with_a_pickled_array_never_runs_code(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.zeros((4, 8, 8), np.uint8), y=np.array([{"a": 1}] * 4, dtype=object))
    assert "array y: unreadable" in _bad("npz", path)


# --- the CLIs on an image folder -----------------------------------------------------------


def test_childnet_train_on_an_image_folder_records_the_classes(tmp_path, folders, cost):
    from childnet.train import run_child

    cfg = _cfg(
        tmp_path,
        "space: {preset: fbnet-cpu, width: 0.5, input_size: 16, channels: 1}\n"
        f"data: {{dataset: imagefolder, root: {folders['flat']}, batch_size: 32}}\n"
        "child: {epochs: 1, threads: 1, export: none}\n",
    )
    ops = ["k3_e1"] * cfg.search_space().num_layers
    metrics = run_child(cfg, ops, tmp_path / "child", measure_with=False, cost=cost)
    assert metrics["data"]["classes"] == list(CLASS_NAMES[:3])
    assert metrics["data"]["input_shape"] == [1, 16, 16]
    assert metrics["space"]["num_classes"] == 3
    assert 0 <= metrics["test_acc"] <= 1
    assert json.loads((tmp_path / "child" / "metrics.json").read_text())["data"]["num_classes"] == 3
    check_record(metrics["data"], DataRecord, "metrics.json data")  # the documented contract (hwnas.records)


@pytest.mark.slow
def test_a_two_trial_sweep_on_an_image_folder(tmp_path, folder_sweep):
    """sweep-smoke.yaml's sweep (its space and quickly profiled LUT: 3x32x32) on a folder of
    16x16 gray PNGs (tests/conftest.py ``folder_sweep``, read only): resized, replicated to 3
    channels, 3 classes from the folder names."""
    run, experiment, folder = folder_sweep.run, folder_sweep.experiment, folder_sweep.folder
    assert "sweep: 2 trials finished, 0 failed" in run.stdout, run.stdout[-2000:]
    record = json.loads((experiment / "sweep.json").read_text())
    check_record(record, SweepRecord, "sweep.json")
    assert record["data"]["classes"] == list(CLASS_NAMES[:3])
    assert record["data"]["input_shape"] == [3, 32, 32]
    children = sorted(experiment.glob("trial_*/child/metrics.json"))
    assert len(children) == 2
    for path in children:
        m = json.loads(path.read_text())
        check_record(m, MetricsRecord, str(path))
        assert m["data"]["classes"] == list(CLASS_NAMES[:3])
        assert m["space"]["num_classes"] == 3
        assert m["data"]["sizes"] == {"weights": 77, "arch": 19, "test": 24}
        assert m["test_acc"] > 0.6  # chance is 1/3; 0.96 with two architectures on this folder
    from pareto.report import build_report

    report = build_report(str(experiment), str(tmp_path / "report"))
    assert report["data"]["num_classes"] == 3
    html = (tmp_path / "report" / "report.html").read_text()
    assert f"data: imagefolder {folder}; 3 classes (ankle_boot, bag, coat); input 3x32x32" in html
