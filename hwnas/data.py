"""Datasets as in-memory uint8 tensors, brought to the space's input shape.

CIFAR-10/100 come from torchvision (``root``, ``download`` where the network allows);
Fashion-MNIST is found in the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``), in ``root`` or in a torchvision copy. Gray
28x28 images are zero-padded to 32x32 and replicated to 3 channels so one space and
one LUT serve all datasets.

Batches come from ``TensorLoader``: whole-tensor indexing, no worker processes, and an
order fixed by ``(seed, epoch)`` so a resumed run sees exactly the same batches.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hwnas.errors import UserError

__all__ = [
    "DEBIAN_FASHION_MNIST",
    "Dataset",
    "Splits",
    "TensorLoader",
    "check_dataset",
    "load_dataset",
    "make_splits",
]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_STATS = {  # per-channel mean/std of the training split, in [0, 1] units
    "fashion-mnist": ((0.2860,) * 3, (0.3530,) * 3),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
NUM_CLASSES = {"fashion-mnist": 10, "cifar10": 10, "cifar100": 100}


@dataclass
class Dataset:
    """``images``: uint8 (N, C, H, W) at the space's input shape; ``labels``: int64 (N,)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    source: str

    def __len__(self):
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> Dataset:
        return Dataset(self.name, self.images[index], self.labels[index], self.num_classes, self.source)


@dataclass
class Splits:
    weights: Dataset  # train part for the weights (80%)
    arch: Dataset  # train part for theta (20%)
    train: Dataset  # weights + arch: what a childnet retrains on
    test: Dataset


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError; a cut .gz ends in EOFError
        raise UserError(f"{path}: unreadable ({type(err).__name__}: {err or 'truncated'})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"{path}: truncated IDX file ({body.size} of {int(np.prod(dims))} bytes)")
    return body.reshape(dims)


def _find_fashion_mnist(root: str | None) -> tuple[Path, list[Path]]:
    candidates = []
    if root:  # an explicit root is the only place looked at: never silently another copy
        r = Path(root)
        candidates = [r, r / "FashionMNIST" / "raw", r / "fashion-mnist"]
        for c in candidates:
            for suffix in ("", ".gz"):
                if (c / f"train-images-idx3-ubyte{suffix}").is_file():
                    return c, candidates
        return None, candidates
    env = os.environ.get("HWNAS_DATA")
    if env:
        candidates += [Path(env) / "fashion-mnist", Path(env) / "FashionMNIST" / "raw"]
    candidates += [DEBIAN_FASHION_MNIST, Path("data") / "FashionMNIST" / "raw"]
    for c in candidates:
        for suffix in ("", ".gz"):
            if (c / f"train-images-idx3-ubyte{suffix}").is_file():
                return c, candidates
    return None, candidates


def _fashion_mnist_folder(root: str | None) -> Path:
    folder, tried = _find_fashion_mnist(root)
    if folder is None:
        raise UserError(
            "Fashion-MNIST not found (tried " + ", ".join(map(str, tried)) + "); install it with "
            "'apt-get install dataset-fashion-mnist' or point data.root at a folder with its IDX files"
        )
    return folder


def _idx_file(folder: Path, stem: str) -> Path:
    for suffix in ("", ".gz"):
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    raise UserError(f"Fashion-MNIST in {folder}: {stem}[.gz] is missing")


_FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _load_fashion_mnist(root: str | None, train: bool) -> tuple[np.ndarray, np.ndarray, str]:
    folder = _fashion_mnist_folder(root)
    prefix = "train" if train else "t10k"
    images = _read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))
    labels = _read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(
            f"Fashion-MNIST in {folder}: {prefix} images {tuple(images.shape)} and labels "
            f"{tuple(labels.shape)} do not match (expected N x 28 x 28 images and N labels)"
        )
    if labels.size and int(labels.max()) >= NUM_CLASSES["fashion-mnist"]:
        raise UserError(f"Fashion-MNIST in {folder}: {prefix} label {int(labels.max())} is not a class (0-9)")
    return images[:, None], labels, str(folder)


def _cifar_not_found(name: str, root: str, cls, why: str) -> UserError:
    return UserError(
        f"{name} not found under {Path(root).resolve()} ({why}); set data.download=true "
        f"where the network allows, or point data.root at a folder holding {cls.base_folder}/"
    )


def _load_cifar(name: str, root: str | None, train: bool, download: bool):
    from torchvision import datasets

    root = root or "data"
    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    try:
        ds = cls(root, train=train, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
        raise _cifar_not_found(name, root, cls, str(err).splitlines()[0]) from None
    except OSError as err:
        raise UserError(f"{name}: download into {root} failed ({err})") from None
    images = np.asarray(ds.data).transpose(0, 3, 1, 2)  # NHWC -> NCHW
    return images, np.asarray(ds.targets), str(Path(root).resolve())


def _to_input_shape(images: np.ndarray, input_shape) -> torch.Tensor:
    x = torch.from_numpy(np.array(images, dtype=np.uint8, copy=True))
    c, h, w = input_shape
    if x.shape[2] != h or x.shape[3] != w:
        dh, dw = h - x.shape[2], w - x.shape[3]
        if dh < 0 or dw < 0 or dh % 2 or dw % 2:
            raise UserError(f"cannot bring {tuple(x.shape[1:])} images to input shape {tuple(input_shape)}")
        x = F.pad(x, (dw // 2, dw // 2, dh // 2, dh // 2))  # zero padding (background)
    if x.shape[1] != c:
        if x.shape[1] != 1:
            raise UserError(f"cannot bring {x.shape[1]}-channel images to {c} channels")
        x = x.expand(-1, c, -1, -1)
    return x.contiguous()


def check_dataset(name: str, root: str | None = None, download: bool = False) -> None:
    """The one-line "not found" error ``load_dataset`` would raise for missing files, raised
    now (files looked for, not read): a run checks it before it writes anything."""
    if name == "fashion-mnist":
        folder = _fashion_mnist_folder(root)
        for stem in _FASHION_MNIST_FILES:
            _idx_file(folder, stem)
    elif name in ("cifar10", "cifar100"):
        if download:
            return
        from torchvision import datasets

        cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
        folder = Path(root or "data") / cls.base_folder
        missing = [f for f, _ in (*cls.train_list, *cls.test_list) if not (folder / f).is_file()]
        if missing:
            raise _cifar_not_found(name, root or "data", cls, f"{folder / missing[0]} is missing")
    else:
        raise UserError(f"unknown dataset {name!r}; expected one of {', '.join(NUM_CLASSES)}")


def load_dataset(
    name: str, train: bool, input_shape=(3, 32, 32), root: str | None = None, download: bool = False
) -> Dataset:
    if name == "fashion-mnist":
        images, labels, source = _load_fashion_mnist(root, train)
    elif name in ("cifar10", "cifar100"):
        images, labels, source = _load_cifar(name, root, train, download)
    else:
        raise UserError(f"unknown dataset {name!r}; expected one of {', '.join(NUM_CLASSES)}")
    x = _to_input_shape(images, input_shape)
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    return Dataset(name, x, y, NUM_CLASSES[name], source)


def _take(ds: Dataset, n: int | None, gen: torch.Generator) -> Dataset:
    if n is None or n >= len(ds):
        return ds
    return ds.subset(torch.randperm(len(ds), generator=gen)[:n])


def make_splits(
    name: str,
    input_shape=(3, 32, 32),
    root: str | None = None,
    download: bool = False,
    train_size: int | None = None,
    test_size: int | None = None,
    arch_fraction: float = 0.2,
    seed: int = 0,
) -> Splits:
    """Seeded, deterministic splits: a ``train_size`` subset of the training split cut
    into weights (1 - arch_fraction) and arch (arch_fraction) parts; the test split."""
    if not 0 < arch_fraction < 1:
        raise UserError(f"data.arch_fraction must be in (0, 1), got {arch_fraction}")
    gen = torch.Generator().manual_seed(seed)
    train = _take(load_dataset(name, True, input_shape, root, download), train_size, gen)
    test = _take(load_dataset(name, False, input_shape, root, download), test_size, gen)
    order = torch.randperm(len(train), generator=gen)
    n_arch = max(1, int(round(arch_fraction * len(train))))
    return Splits(train.subset(order[n_arch:]), train.subset(order[:n_arch]), train, test)


class TensorLoader:
    """Batches of normalized float images from an in-memory ``Dataset``.

    The order of epoch ``e`` depends only on ``(seed, e)``, so a run resumed at epoch
    ``e`` sees the same batches as an uninterrupted one. ``augment`` adds random
    crop (pad 4) and horizontal flip, drawn from the same generator.
    """

    def __init__(
        self,
        ds: Dataset,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        augment: bool = False,
        drop_last: bool = False,
        max_batches: int | None = None,
    ):
        mean, std = _STATS[ds.name]
        self.ds, self.batch_size, self.shuffle, self.seed = ds, batch_size, shuffle, seed
        self.augment, self.drop_last, self.max_batches = augment, drop_last, max_batches
        self.mean = torch.tensor(mean).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std).view(1, -1, 1, 1) * 255
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        n = len(self.ds) // self.batch_size if self.drop_last else -(-len(self.ds) // self.batch_size)
        return min(n, self.max_batches) if self.max_batches else n

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        n = len(self.ds)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            x = self.ds.images[idx].float()
            if self.augment:
                x = _augment(x, gen)
            yield (x - self.mean) / self.std, self.ds.labels[idx]


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (b,), generator=gen)
    dx = torch.randint(0, 9, (b,), generator=gen)
    rows = (dy.view(b, 1) + torch.arange(h)).view(b, 1, h, 1).expand(b, x.shape[1], h, w + 8)
    x = padded.gather(2, rows)
    cols = (dx.view(b, 1) + torch.arange(w)).view(b, 1, 1, w).expand(b, x.shape[1], h, w)
    x = x.gather(3, cols)
    flip = torch.rand(b, generator=gen) < 0.5
    x[flip] = x[flip].flip(3)
    return x
