"""Small real image folders and .npz files for the own-data tests and the bad-input matrix:
Fashion-MNIST's test images (the Debian package), resized with PIL and written as PNG or
JPEG files in torchvision's ImageFolder layout."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

CLASS_NAMES = ("ankle_boot", "bag", "coat", "dress", "trouser")
_LABELS = {"ankle_boot": 9, "bag": 8, "coat": 4, "dress": 3, "trouser": 1}  # Fashion-MNIST's labels


@functools.lru_cache(maxsize=1)
def fashion_test() -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST's 10,000 test images (uint8 N x 28 x 28) and labels."""
    from hwnas.data import load_dataset

    ds = load_dataset("fashion-mnist", False, (1, 28, 28))
    return ds.images[:, 0].numpy(), ds.labels.numpy()


def class_images(name: str, n: int, size: int, skip: int = 0) -> list[np.ndarray]:
    """``n`` real images of class ``name`` at ``size`` x ``size`` (after the first ``skip``)."""
    from PIL import Image

    images, labels = fashion_test()
    idx = np.flatnonzero(labels == _LABELS[name])[skip : skip + n]
    return [np.asarray(Image.fromarray(images[i]).resize((size, size), Image.BILINEAR)) for i in idx]


def write_images(folder: Path, images, fmt: str = "png", rgb_every: int = 0) -> list[Path]:
    """Each image as ``<i>.png``/``<i>.jpg`` in ``folder``; every ``rgb_every``-th one saved as RGB."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, arr in enumerate(images):
        im = Image.fromarray(arr)
        if rgb_every and i % rgb_every == 0:
            im = im.convert("RGB")
        path = folder / f"{i:04d}.{'jpg' if fmt == 'jpeg' else fmt}"
        im.save(path, quality=95) if fmt == "jpeg" else im.save(path)
        paths.append(path)
    return paths


def image_folder(
    root: Path,
    classes: int = 3,
    per_class: int = 30,
    size: int = 16,
    fmt: str = "png",
    given: tuple[str, ...] = (),
    rgb_every: int = 0,
) -> Path:
    """``root/<class>/<i>.png`` (``given``: ``root/<part>/<class>/...`` per part, the
    images of the parts disjoint)."""
    for name in CLASS_NAMES[:classes]:
        if not given:
            write_images(root / name, class_images(name, per_class, size), fmt, rgb_every)
        for j, part in enumerate(given):
            write_images(root / part / name, class_images(name, per_class, size, skip=j * per_class), fmt, rgb_every)
    return root


def npz_file(path: Path, n_classes: int = 3, per_class: int = 30, size: int = 16, compressed: bool = False, **arrays):
    """``x`` (N, size, size) uint8, ``y`` and ``classes`` from real images; ``arrays`` replace
    or add (None: leave out)."""
    x = np.stack([im for name in CLASS_NAMES[:n_classes] for im in class_images(name, per_class, size)])
    y = np.repeat(np.arange(n_classes), per_class)
    data = {"x": x, "y": y, "classes": np.array(CLASS_NAMES[:n_classes]), **arrays}
    data = {k: v for k, v in data.items() if v is not None}
    (np.savez_compressed if compressed else np.savez)(path, **data)
    return path
