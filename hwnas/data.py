"""Datasets as uint8 images at the space's input shape: built-in ones, and the user's own.

CIFAR-10/100 come from torchvision (``root``, ``download`` where the network allows);
Fashion-MNIST is found in the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``), in ``root`` or in a torchvision copy. Gray
28x28 images are zero-padded to 32x32 (other sizes: resized) and replicated to 3
channels (or RGB brought to gray for ``space.channels: 1``); they are normalized with
the datasets' published statistics.

The user's own data (``imagefolder``, ``npz``: ``hwnas.userdata``) is decoded once,
resized to the input size, normalized with the statistics of its training split, and
kept in memory unless it exceeds ``data.memory_budget_mb``: then its batches are decoded
from disk when drawn (``Dataset.streamed``), by ``data.workers`` processes.

Batches come from ``TensorLoader``: an order fixed by ``(seed, epoch)`` so a resumed run
sees exactly the same batches, whether they come from memory or stream from disk.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hwnas.errors import UserError

__all__ = [
    "DATASETS",
    "DEBIAN_FASHION_MNIST",
    "OWN_DATASETS",
    "Dataset",
    "Splits",
    "TensorLoader",
    "check_data",
    "check_dataset",
    "data_record",
    "dataset_classes",
    "load_dataset",
    "make_splits",
    "splits_for",
]

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_STATS = {  # per-channel mean/std of the training split, in [0, 1] units
    "fashion-mnist": ((0.2860,) * 3, (0.3530,) * 3),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
NUM_CLASSES = {"fashion-mnist": 10, "cifar10": 10, "cifar100": 100}
OWN_DATASETS = ("imagefolder", "npz")  # the user's own data: hwnas.userdata
DATASETS = (*NUM_CLASSES, *OWN_DATASETS)
_CLASS_NAMES = {
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
}


@dataclass
class Dataset:
    """``images``: uint8 (N, C, H, W) at the space's input shape, or None when streamed
    (then ``items[index[i]]`` decodes image i from disk); ``labels``: int64 (N,)."""

    name: str
    images: torch.Tensor | None
    labels: torch.Tensor
    num_classes: int
    source: str
    classes: tuple[str, ...] = ()
    mean: tuple[float, ...] | None = None  # per channel, [0, 1] units; None: the published statistics
    std: tuple[float, ...] | None = None
    items: object = None  # streamed: a torch Dataset of (image, error, converted)
    index: torch.Tensor | None = None  # streamed: which items, in order
    workers: int = 0  # streamed: decoding processes
    sums: torch.Tensor | None = None  # own data: per-image pixel sums (exact statistics of any subset)

    def __len__(self):
        return len(self.labels)

    @property
    def streamed(self) -> bool:
        return self.images is None

    def subset(self, index: torch.Tensor) -> Dataset:
        def pick(t):
            return None if t is None else t[index]

        return dataclasses.replace(
            self, images=pick(self.images), labels=self.labels[index], index=pick(self.index), sums=pick(self.sums)
        )

    def concat(self, other: Dataset) -> Dataset:
        """This dataset followed by ``other`` (the same data source, e.g. train/ and val/)."""

        def cat(a, b):
            return None if a is None else torch.cat([a, b])

        if not self.streamed:
            return dataclasses.replace(
                self,
                images=cat(self.images, other.images),
                labels=cat(self.labels, other.labels),
                sums=cat(self.sums, other.sums),
            )
        items = torch.utils.data.ConcatDataset([self.items, other.items])
        index = torch.cat([self.index, other.index + len(self.items)])
        return dataclasses.replace(
            self, labels=cat(self.labels, other.labels), items=items, index=index, sums=cat(self.sums, other.sums)
        )


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
    """A built-in dataset's images at ``input_shape``: channels replicated (gray) or brought
    to gray; zero-padded by up to 4 pixels (Fashion-MNIST's 28 -> 32, as the CIFAR setting
    expects), resized otherwise."""
    from hwnas.userdata import fit_images, to_channels

    x = torch.from_numpy(np.array(images, dtype=np.uint8, copy=True))
    c, h, w = input_shape
    x = to_channels(x, c)[0]
    dh, dw = h - x.shape[2], w - x.shape[3]
    if 0 <= dh <= 4 and 0 <= dw <= 4 and dh % 2 == 0 and dw % 2 == 0:
        x = F.pad(x, (dw // 2, dw // 2, dh // 2, dh // 2))  # zero padding (background)
    else:
        x = fit_images(x, h)
    return x.contiguous()


def _builtin_stats(name: str, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The published statistics at ``channels`` (RGB ones brought to gray with the luma weights)."""
    mean, std = _STATS[name]
    if channels == len(mean):
        return mean, std
    luma = (0.299, 0.587, 0.114)
    return (sum(m * k for m, k in zip(mean, luma)),) * channels, (sum(s * k for s, k in zip(std, luma)),) * channels


def _root_stamp(root) -> tuple:
    """What changes when the class folders (or the .npz file) change: ``dataset_classes``'s cache key."""
    p = Path(root)
    return tuple(q.stat().st_mtime_ns if q.exists() else None for q in (p, p / "train"))


@functools.lru_cache(maxsize=16)
def _own_classes(name: str, root: str, _stamp: tuple) -> tuple[str, ...]:
    from hwnas.userdata import own_classes

    return own_classes(name, root)


def dataset_classes(name: str, root: str | None = None) -> tuple[str, ...]:
    """The class names of a dataset: built-in ones, or read from the user's folder or .npz."""
    if name in OWN_DATASETS:
        if not root:
            raise UserError(f"data.root is required for dataset {name} (the image folder or the .npz file)")
        return _own_classes(name, str(root), _root_stamp(root))
    if name not in NUM_CLASSES:
        raise UserError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return _CLASS_NAMES.get(name) or tuple(str(i) for i in range(NUM_CLASSES[name]))


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
    elif name in OWN_DATASETS:
        dataset_classes(name, root)
    else:
        raise UserError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def _load_raw(name: str, train: bool, root: str | None, download: bool) -> tuple[np.ndarray, np.ndarray, str]:
    if name == "fashion-mnist":
        return _load_fashion_mnist(root, train)
    if name in ("cifar10", "cifar100"):
        return _load_cifar(name, root, train, download)
    raise UserError(f"unknown dataset {name!r}; expected one of {', '.join(NUM_CLASSES)}")


class _BuiltinItems(torch.utils.data.Dataset):
    """Image ``i`` of a built-in dataset's stored images brought to ``input_shape`` on demand
    (streamed: at a large input size the converted split would not fit the memory budget)."""

    def __init__(self, images: np.ndarray, input_shape):
        self.images, self.input_shape = images, tuple(input_shape)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return _to_input_shape(self.images[i : i + 1], self.input_shape)[0], "", False


def _builtin_dataset(name: str, raw: tuple, input_shape, stream: bool, workers: int) -> Dataset:
    images, labels, source = raw
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    mean, std = _builtin_stats(name, input_shape[0])
    ds = Dataset(name, None, y, NUM_CLASSES[name], source, dataset_classes(name), mean, std)
    if stream:
        items = _BuiltinItems(images, input_shape)
        return dataclasses.replace(ds, items=items, index=torch.arange(len(y)), workers=workers)
    return dataclasses.replace(ds, images=_to_input_shape(images, input_shape))


def load_dataset(
    name: str, train: bool, input_shape=(3, 32, 32), root: str | None = None, download: bool = False
) -> Dataset:
    """A built-in dataset's training or test split, in memory (own data: ``make_splits``)."""
    return _builtin_dataset(name, _load_raw(name, train, root, download), input_shape, False, 0)


def _take(ds: Dataset, n: int | None, gen: torch.Generator) -> Dataset:
    if n is None or n >= len(ds):
        return ds
    return ds.subset(torch.randperm(len(ds), generator=gen)[:n])


def _stratified(ds: Dataset, fraction: float, gen: torch.Generator) -> tuple[Dataset, Dataset]:
    """``(train, test)``: ``fraction`` of each class held out (at least one image each)."""
    held = []
    for k in range(ds.num_classes):
        idx = (ds.labels == k).nonzero().flatten()
        if len(idx) < 2:
            raise UserError(
                f"{ds.source}: class {ds.classes[k]!r} has {len(idx)} image(s); a seeded split needs at least 2 "
                "per class (or give train/ and test/ folders, x_test and y_test arrays)"
            )
        n = min(len(idx) - 1, max(1, round(fraction * len(idx))))
        held.append(idx[torch.randperm(len(idx), generator=gen)[:n]])
    test = torch.cat(held).sort().values
    rest = torch.ones(len(ds), dtype=torch.bool)
    rest[test] = False
    return ds.subset(rest.nonzero().flatten()), ds.subset(test)


def _note(text: str) -> None:
    print(f"note: {text}", flush=True)


def _own_parts(name, root, input_shape, workers) -> dict[str, Dataset]:
    """The user's data as ``{part: Dataset}`` not decoded yet (``items`` and ``index``): parts
    are split and cut to size by their labels, then only what is used is decoded (``_decoded``)."""
    from hwnas.userdata import read_own

    classes, parts = read_own(name, root, input_shape, stream=True)
    return {
        key: Dataset(
            name,
            None,
            p.labels,
            len(classes),
            str(root),
            classes,
            None,
            None,
            p.items,
            torch.arange(len(p.labels)),
            workers,
        )
        for key, p in parts.items()
    }


def _decoded(parts: list[Dataset], budget_mb: float, bad_files: str) -> list[Dataset]:
    """``parts`` decoded once (``hwnas.userdata.decode_all``): kept in memory, or, when their
    images at the input shape exceed ``budget_mb``, only checked and summed (then streamed)."""
    from hwnas.userdata import decode_all

    shape = parts[0].items.input_shape  # not concatenated yet: each part has its own items
    total = sum(len(p) for p in parts)
    stream = total * int(np.prod(shape)) > budget_mb * 2**20
    out, converted, skipped = [], 0, []
    for ds in parts:
        pool = decode_all(ds.items, ds.index, not stream, ds.workers, bad_files)
        converted, skipped = converted + pool.converted, skipped + pool.skipped
        if stream:
            ds = dataclasses.replace(ds, sums=pool.sums)
        else:
            ds = dataclasses.replace(ds, images=pool.images, sums=pool.sums, items=None, index=None)
        out.append(ds.subset(pool.keep))
    root = parts[0].source
    if converted:
        kind = "gray" if shape[0] == 1 else "RGB"
        _note(f"{root}: {converted} of {total} images converted to {kind} (space.channels={shape[0]})")
    if skipped:
        _note(f"{root}: {len(skipped)} unreadable image files skipped (data.bad_files: skip); first: {skipped[0]}")
    return out


def make_splits(
    name: str,
    input_shape=(3, 32, 32),
    root: str | None = None,
    download: bool = False,
    train_size: int | None = None,
    test_size: int | None = None,
    arch_fraction: float = 0.2,
    seed: int = 0,
    *,
    test_fraction: float = 0.2,
    memory_budget_mb: float = 1024.0,
    workers: int = 2,
    bad_files: str = "error",
) -> Splits:
    """Seeded, deterministic splits: a ``train_size`` subset of the training split cut
    into weights (1 - arch_fraction) and arch (arch_fraction) parts; the test split.
    The user's own data: given parts (a given ``val`` is the arch part) or a stratified
    ``test_fraction``; normalized with the statistics of the training subset."""
    if not 0 < arch_fraction < 1:
        raise UserError(f"data.arch_fraction must be in (0, 1), got {arch_fraction}")
    gen = torch.Generator().manual_seed(seed)
    val = None
    if name in OWN_DATASETS:
        parts = _own_parts(name, root, input_shape, workers)
        if "all" in parts:
            train, test = _stratified(parts["all"], test_fraction, gen)
        else:
            train, test, val = parts["train"], parts["test"], parts.get("val")
        train, test = _take(train, train_size, gen), _take(test, test_size, gen)
        train, test, *val = _decoded([train, test, *([val] if val is not None else [])], memory_budget_mb, bad_files)
        val = val[0] if val else None
    else:
        raws = [_load_raw(name, t, root, download) for t in (True, False)]
        # at a large input size the converted images would not fit: brought to it batch by batch
        stream = sum(len(r[1]) for r in raws) * int(np.prod(input_shape)) > memory_budget_mb * 2**20
        train, test = (_builtin_dataset(name, raw, input_shape, stream, workers) for raw in raws)
        train, test = _take(train, train_size, gen), _take(test, test_size, gen)
    if val is not None:  # the user's validation part: what theta trains on
        splits = Splits(train, val, train.concat(val), test)
    else:
        order = torch.randperm(len(train), generator=gen)
        n_arch = max(1, int(round(arch_fraction * len(train))))
        splits = Splits(train.subset(order[n_arch:]), train.subset(order[:n_arch]), train, test)
    if splits.train.sums is None:
        return splits
    from hwnas.userdata import channel_stats

    mean, std = channel_stats(splits.train.sums, input_shape[1] * input_shape[2])
    parts = (splits.weights, splits.arch, splits.train, splits.test)
    return Splits(*(dataclasses.replace(ds, mean=mean, std=std) for ds in parts))


def _data_kwargs(d) -> dict:
    return {
        "test_fraction": d.test_fraction,
        "memory_budget_mb": d.memory_budget_mb,
        "workers": d.workers,
        "bad_files": d.bad_files,
    }


def _check_classes(d, space, n: int) -> None:
    if n > space.num_classes:
        raise UserError(f"space.num_classes={space.num_classes} but {d.dataset} {d.root or ''} has {n} classes")


def splits_for(d, space) -> Splits:
    """``make_splits`` of a config's ``data`` section at ``space``'s input shape."""
    splits = make_splits(
        d.dataset,
        space.input_shape,
        d.root,
        d.download,
        d.train_size,
        d.test_size,
        d.arch_fraction,
        d.seed,
        **_data_kwargs(d),
    )
    _check_classes(d, space, splits.train.num_classes)
    return splits


def check_data(d, space) -> dict:
    """Before a run writes anything: built-in data looked for; the user's own read whole
    (every image decoded once, nothing kept: one line for the first bad file). Returns
    the data's record for sweep.json (``data_record`` without the statistics)."""
    check_dataset(d.dataset, d.root, d.download)
    classes = dataset_classes(d.dataset, d.root)
    _check_classes(d, space, len(classes))
    if d.dataset in OWN_DATASETS:
        _decoded(list(_own_parts(d.dataset, d.root, space.input_shape, d.workers).values()), 0.0, d.bad_files)
    return {
        "dataset": d.dataset,
        "root": str(Path(d.root).resolve()) if d.dataset in OWN_DATASETS else d.root,
        "classes": list(classes),
        "num_classes": len(classes),
        "input_shape": list(space.input_shape),
    }


def data_record(splits: Splits) -> dict:
    """What a model was trained on (metrics.json ``data``, docs/formats.md)."""
    train = splits.train
    mean, std = (train.mean, train.std) if train.mean is not None else _builtin_stats(train.name, 3)
    shape = list(train.images.shape[1:]) if not train.streamed else list(train.items[0][0].shape)
    return {
        "dataset": train.name,
        "source": train.source,
        "classes": list(train.classes),
        "num_classes": train.num_classes,
        "input_shape": shape,
        "mean": [round(m, 6) for m in mean],
        "std": [round(s, 6) for s in std],
        "sizes": {"weights": len(splits.weights), "arch": len(splits.arch), "test": len(splits.test)},
        "streamed": train.streamed,
    }


def _stack(batch) -> tuple[torch.Tensor | None, str]:
    """A worker's batch as one tensor (one transfer to the main process, not one per image) and
    the first error ("" if none)."""
    errors = [error for _, error, _ in batch if error]
    if errors:
        return None, errors[0]
    return torch.stack([x for x, _, _ in batch]), ""


class _Batches:
    """A ``DataLoader``'s batch sampler: the item indices of this epoch's batches, set before
    each epoch, so one loader (and its decoding processes) serves every epoch."""

    def __init__(self):
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


class _Stream:
    """Batches of a streamed ``Dataset`` decoded from disk by ``ds.workers`` processes, in order."""

    def __init__(self, ds: Dataset):
        self.sampler = _Batches()
        self.loader = torch.utils.data.DataLoader(
            ds.items,
            batch_sampler=self.sampler,
            num_workers=ds.workers,
            collate_fn=_stack,
            persistent_workers=ds.workers > 0,
        )
        self.index = ds.index

    def batches(self, batches: list[torch.Tensor]):
        self.sampler.batches = [self.index[b].tolist() for b in batches]
        for images, error in self.loader:
            if error:  # the file changed since it was checked
                raise UserError(error)
            yield images


class TensorLoader:
    """Batches of normalized float images from a ``Dataset``, in memory or streamed.

    The order of epoch ``e`` depends only on ``(seed, e)``, so a run resumed at epoch
    ``e`` sees the same batches as an uninterrupted one; streamed data gives the same
    batches as in memory. ``augment`` adds random crop (pad 4) and horizontal flip,
    drawn from the same generator.
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
        mean, std = (ds.mean, ds.std) if ds.mean is not None else _STATS[ds.name]
        self.ds, self.batch_size, self.shuffle, self.seed = ds, batch_size, shuffle, seed
        self.augment, self.drop_last, self.max_batches = augment, drop_last, max_batches
        self.mean = torch.tensor(mean).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std).view(1, -1, 1, 1) * 255
        self.epoch = 0
        self._stream = _Stream(ds) if ds.streamed else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        n = len(self.ds) // self.batch_size if self.drop_last else -(-len(self.ds) // self.batch_size)
        return min(n, self.max_batches) if self.max_batches else n

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed * 100003 + self.epoch)
        n = len(self.ds)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        batches = [order[b * self.batch_size : (b + 1) * self.batch_size] for b in range(len(self))]
        images = self._stream.batches(batches) if self._stream else (self.ds.images[idx] for idx in batches)
        for idx, x in zip(batches, images):
            x = x.float()
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
