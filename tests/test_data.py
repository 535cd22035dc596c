import gzip

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hwnas.data import DEBIAN_FASHION_MNIST, TensorLoader, load_dataset, make_splits
from hwnas.errors import UserError


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_fmnist(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 50), ("t10k", 20)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    return tmp_path


def test_idx_images_are_padded_and_replicated(tiny_fmnist):
    ds = load_dataset("fashion-mnist", True, (3, 32, 32), root=str(tiny_fmnist))
    assert ds.images.shape == (50, 3, 32, 32), "28x28 gray not padded to 3x32x32"
    assert ds.images.dtype == torch.uint8, "images not kept as bytes"
    assert ds.images[:, :, :2].sum() == 0, "top rows not zero-padded"
    assert ds.images[:, :, :, -2:].sum() == 0, "right columns not zero-padded"
    assert torch.equal(ds.images[:, 0], ds.images[:, 2])  # gray replicated
    assert ds.num_classes == 10


def test_splits_are_seeded_and_disjoint(tiny_fmnist):
    a = make_splits("fashion-mnist", root=str(tiny_fmnist), train_size=40, seed=1)
    b = make_splits("fashion-mnist", root=str(tiny_fmnist), train_size=40, seed=1)
    c = make_splits("fashion-mnist", root=str(tiny_fmnist), train_size=40, seed=2)
    assert (len(a.weights), len(a.arch), len(a.test)) == (32, 8, 20)
    assert torch.equal(a.arch.images, b.arch.images)
    assert not torch.equal(a.arch.images, c.arch.images)

    def flat(d):
        return {bytes(x.numpy()) for x in d.images}

    assert not flat(a.weights) & flat(a.arch)


def test_loader_order_depends_only_on_seed_and_epoch(tiny_fmnist):
    ds = load_dataset("fashion-mnist", True, root=str(tiny_fmnist))
    one, two = TensorLoader(ds, 16, seed=3), TensorLoader(ds, 16, seed=3)
    one.set_epoch(4)
    for _ in range(2):
        two.set_epoch(2)
        list(two)
    two.set_epoch(4)
    for (x1, y1), (x2, y2) in zip(one, two):
        assert torch.equal(x1, x2), "images of epoch 4 depend on the epochs before"
        assert torch.equal(y1, y2), "labels of epoch 4 depend on the epochs before"
    one.set_epoch(5)
    assert not torch.equal(next(iter(one))[1], next(iter(two))[1])
    assert len(one) == 4, "50 images in batches of 16 are 4 batches"
    assert sum(len(y) for _, y in one) == 50, "an epoch does not visit every image once"


def test_augmentation_is_a_padded_crop_and_maybe_a_flip_of_each_image(tiny_fmnist):
    ds = load_dataset("fashion-mnist", True, root=str(tiny_fmnist))
    loader = TensorLoader(ds, 8, shuffle=False, augment=True)
    x, y = next(iter(loader))
    assert x.shape == (8, 3, 32, 32), "augmentation changed the batch's shape"
    assert torch.equal(y, ds.labels[:8]), "augmentation changed the labels"
    padded = F.pad(ds.images[:8].float(), (4, 4, 4, 4))
    moves = []
    for i in range(8):
        found = [
            (dy, dx, flip)
            for dy in range(9)
            for dx in range(9)
            for flip in (False, True)
            if torch.allclose(x[i], _normalized(loader, _crop(padded[i], dy, dx, flip)))
        ]
        assert found, f"image {i} is no 32x32 crop of the image padded by 4 (flipped or not)"
        moves.append(found[0])
    assert len(set(moves)) > 1, f"every image moved the same way: {moves[0]}"
    again = next(iter(TensorLoader(ds, 8, shuffle=False, augment=True)))[0]
    assert torch.equal(x, again), "the same seed and epoch gave other crops"
    loader.set_epoch(1)
    assert not torch.equal(x, next(iter(loader))[0]), "another epoch gave the same crops"


def _crop(image: torch.Tensor, dy: int, dx: int, flip: bool) -> torch.Tensor:
    out = image[:, dy : dy + 32, dx : dx + 32]
    return out.flip(2) if flip else out


def _normalized(loader: TensorLoader, image: torch.Tensor) -> torch.Tensor:
    return (image - loader.mean[0]) / loader.std[0]  # as the loader normalizes a batch


def test_missing_dataset_names_the_paths_tried(tmp_path, monkeypatch):
    monkeypatch.setattr("hwnas.data.DEBIAN_FASHION_MNIST", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        load_dataset("fashion-mnist", True, root=str(tmp_path / "empty"))
    msg = str(err.value)
    assert "Fashion-MNIST not found" in msg, msg
    assert str(tmp_path / "empty") in msg, "the path tried is not named"
    assert "apt-get install" in msg, "the install command is not named"
    assert "\n" not in msg


def test_missing_cifar_is_one_line(tmp_path):
    with pytest.raises(UserError, match="cifar10 not found"):
        load_dataset("cifar10", True, root=str(tmp_path))


def test_truncated_idx(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28)))
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"\x01\x02")
    with pytest.raises(UserError, match="truncated IDX"):
        load_dataset("fashion-mnist", True, root=str(tmp_path))


def test_label_count_and_values_must_match_the_images(tiny_fmnist):
    _write_idx(tiny_fmnist / "train-labels-idx1-ubyte.gz", np.zeros(49))
    with pytest.raises(UserError, match=r"train images \(50, 28, 28\) and labels \(49,\) do not match"):
        load_dataset("fashion-mnist", True, root=str(tiny_fmnist))
    _write_idx(tiny_fmnist / "train-labels-idx1-ubyte.gz", np.full(50, 12))
    with pytest.raises(UserError, match="train label 12 is not a class"):
        load_dataset("fashion-mnist", True, root=str(tiny_fmnist))


@pytest.mark.parametrize("damage", [lambda raw: raw[: len(raw) // 2], lambda raw: b"not gzip at all" + raw])
def test_cut_or_non_gzip_files_are_one_line(tiny_fmnist, damage):
    path = tiny_fmnist / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UserError, match="train-images-idx3-ubyte.gz: unreadable") as err:
        load_dataset("fashion-mnist", True, root=str(tiny_fmnist))
    assert "\n" not in str(err.value)


def test_an_explicit_root_without_the_data_never_falls_back_to_another_copy(tmp_path, tiny_fmnist, monkeypatch):
    monkeypatch.setenv("HWNAS_DATA", str(tiny_fmnist.parent))
    monkeypatch.setattr("hwnas.data.DEBIAN_FASHION_MNIST", tiny_fmnist)  # a copy exists elsewhere
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="Fashion-MNIST not found"):
        load_dataset("fashion-mnist", True, root=str(tmp_path / "empty"))


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown dataset 'mnist2'"):
        load_dataset("mnist2", True)


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_real_fashion_mnist_from_debian_package():
    ds = load_dataset("fashion-mnist", False)
    assert len(ds) == 10000, "not the 10000 test images"
    assert ds.images.shape[1:] == (3, 32, 32), "not padded to 3x32x32"
    assert sorted(ds.labels.unique().tolist()) == list(range(10))
