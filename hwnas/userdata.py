"""The user's own data: an image folder (``data.dataset: imagefolder``) or a ``.npz`` of
arrays (``data.dataset: npz``), checked, decoded once and brought to the space's input.

Image folder (torchvision's ``ImageFolder`` layout; PNG or JPEG, gray or RGB): either
``root/<class>/<image>`` (a seeded split, stratified per class, holds out
``data.test_fraction`` for testing) or ``root/train/<class>/...`` and
``root/test/<class>/...`` with an optional ``root/val/<class>/...`` (then the part theta
trains on). Class names are the sorted sub-folder names of ``train/`` (or ``root``).

``.npz`` (``numpy.load(allow_pickle=False)``: loading never runs code): ``x`` uint8
images (N, H, W), (N, H, W, C) or (N, C, H, W) with C 1 or 3; ``y`` integer labels
0..K-1; optional ``x_test``/``y_test`` (a given test split) and ``classes`` (K names).

Every image is decoded once (``decode_all``): checked (one line naming a bad file),
converted to the space's channels (counted in a note), resized to its input size
(bilinear, antialiased) and its per-channel pixel sums kept, so the normalization
statistics of any training subset are exact sums. Data whose decoded size exceeds
``data.memory_budget_mb`` is not kept: its batches are decoded again from the files
when they are drawn (``hwnas.data.TensorLoader`` streams them).
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hwnas.errors import UserError

__all__ = [
    "ArrayItems",
    "DecodedPool",
    "FolderItems",
    "channel_stats",
    "decode_all",
    "fit_image",
    "fit_images",
    "own_classes",
    "read_own",
    "to_channels",
]

IMAGE_FORMATS = ("PNG", "JPEG")
_COLOR_MODES = ("RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")
PASS_BATCH = 64  # images per decoding batch (a worker's unit)


def fit_images(x: torch.Tensor, size: int, chunk: int = 512) -> torch.Tensor:
    """uint8 (N, C, h, w) -> (N, C, size, size): bilinear, antialiased (each image on its
    own: the same pixels in a batch or alone); unchanged at that size."""
    if x.shape[-2] == size and x.shape[-1] == size:
        return x.contiguous()
    out = torch.empty((len(x), x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(x), chunk):
        y = F.interpolate(x[i : i + chunk].float(), size=(size, size), mode="bilinear", antialias=True)
        out[i : i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def fit_image(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (C, h, w) -> (C, size, size) (``fit_images`` of one)."""
    return fit_images(x[None], size)[0]


# --- image folders ----------------------------------------------------------------------


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_dirs(folder: Path) -> list[str]:
    names = [p.name for p in _subdirs(folder)]
    if not names:
        raise UserError(f"{folder}: no class sub-folders (expected one folder of images per class, ImageFolder layout)")
    return names


def _given_parts(root: Path) -> list[str] | None:
    """The given split's parts (train, val, test) when ``root`` has one, else None."""
    names = {p.name for p in _subdirs(root)}
    if not names & {"train", "test"}:
        return None
    for need in ("train", "test"):
        if need not in names:
            have = "train" if need == "test" else "test"
            raise UserError(
                f"{root}: has {have}/ but no {need}/; give train/ and test/ (val/ optional), "
                "or class folders only for a seeded split"
            )
    return [p for p in ("train", "val", "test") if p in names]


def folder_classes(root) -> tuple[str, ...]:
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"data.root {root}: no such folder (expected an image folder with one sub-folder per class)")
    parts = _given_parts(root)
    return tuple(_class_dirs(root / "train" if parts else root))


def _part_files(folder: Path, classes: tuple[str, ...], reference: str | None) -> list[tuple[Path, int]]:
    """``(file, label)`` of one part, sorted; its classes must be exactly ``classes``."""
    have = _class_dirs(folder)
    if reference is not None:
        for name in classes:
            if name not in have:
                raise UserError(
                    f"{folder}: class {name!r} is missing ({reference}/ has it; every class needs images here)"
                )
        for name in have:
            if name not in classes:
                raise UserError(f"{folder / name}: class {name!r} is not in {reference}/")
    files = []
    for label, name in enumerate(classes):
        found = sorted(p for p in (folder / name).iterdir() if p.is_file() and not p.name.startswith("."))
        if not found:
            raise UserError(f"{folder / name}: empty class (no image files)")
        files += [(p, label) for p in found]
    return files


def folder_parts(root) -> tuple[tuple[str, ...], dict[str, list[tuple[Path, int]]]]:
    """The classes and ``{part: [(file, label)]}``: parts train/val/test, or ``all`` (to split)."""
    root = Path(root)
    classes = folder_classes(root)
    parts = _given_parts(root)
    if parts is None:
        return classes, {"all": _part_files(root, classes, None)}
    return classes, {p: _part_files(root / p, classes, None if p == "train" else "train") for p in parts}


def decode_image(path: Path, channels: int) -> tuple[np.ndarray, bool]:
    """The image at ``path`` as uint8 (C, h, w) and whether its gray/colour was converted;
    one line naming the file when it is not a whole PNG/JPEG image."""
    from PIL import Image

    try:
        with Image.open(path, formats=IMAGE_FORMATS) as im:
            im.load()  # decodes all of it: a truncated file fails here
            color = im.mode in _COLOR_MODES
            arr = np.array(im.convert("L" if channels == 1 else "RGB"))
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError) as err:
        why = " ".join(str(err).split())[:120] or type(err).__name__
        raise UserError(f"{path}: not a readable PNG/JPEG image ({why})") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return np.ascontiguousarray(arr), color != (channels == 3)


class FolderItems(torch.utils.data.Dataset):
    """Image ``i`` of a file list at ``input_shape``: ``(uint8 tensor or None, error, converted)``."""

    def __init__(self, files: list[Path], input_shape):
        self.files, self.input_shape = files, tuple(input_shape)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        try:
            arr, converted = decode_image(self.files[i], self.input_shape[0])
        except UserError as err:  # returned, not raised: a worker's exception would print its traceback
            return None, str(err), False
        return fit_image(torch.from_numpy(arr), self.input_shape[1]), "", converted


# --- .npz arrays ------------------------------------------------------------------------


def _open_npz(path: Path):
    if not path.is_file():
        raise UserError(f"data.root {path}: no such .npz file")
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise UserError(f"{path}: not a readable .npz file ({' '.join(str(err).split())[:120]})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise UserError(f"{path}: a single array; expected an .npz file with arrays x and y (numpy.savez)")
    return z


def _npz_array(z, path: Path, name: str, required: bool = True):
    if name not in z.files:
        if not required:
            return None
        raise UserError(
            f"{path}: no array {name!r} (has {', '.join(z.files) or 'none'}); expected x (images), y (labels)"
        )
    try:
        return z[name]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:  # object arrays: ValueError
        raise UserError(f"{path}: array {name}: unreadable ({' '.join(str(err).split())[:120]})") from None


def _npz_memmap(path: Path, name: str):
    """Array ``name`` of an uncompressed .npz mapped from disk; None when it cannot be
    (compressed, object or Fortran-ordered, a damaged header): then it is loaded, and a damaged
    one is the loader's one-line error."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)  # the member's local header: 30 bytes, then its name and extra field
            f.seek(
                info.header_offset
                + 30
                + int.from_bytes(local[26:28], "little")
                + int.from_bytes(local[28:30], "little")
            )
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            offset = f.tell()
        if dtype.hasobject or fortran:
            return None
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _image_layout(x, path: Path, name: str) -> str:
    """``NHW``, ``NHWC`` or ``NCHW``: how ``x`` holds its images."""
    if x.dtype != np.uint8:
        raise UserError(
            f"{path}: {name}: dtype {x.dtype}; expected uint8 images 0-255 (e.g. (x * 255).round().astype(np.uint8))"
        )
    if x.ndim == 3:
        return "NHW"
    if x.ndim == 4 and x.shape[-1] in (1, 3):
        return "NHWC"
    if x.ndim == 4 and x.shape[1] in (1, 3):
        return "NCHW"
    raise UserError(
        f"{path}: {name}: shape {tuple(x.shape)}; expected (N, H, W), (N, H, W, C) or (N, C, H, W), C 1 or 3"
    )


def to_channels(x: torch.Tensor, channels: int) -> tuple[torch.Tensor, bool]:
    """uint8 (..., c, h, w) with ``channels`` channels: gray replicated, RGB to luma (ITU-R 601)."""
    if x.shape[-3] == channels:
        return x, False
    if channels == 3:
        return x.expand(*x.shape[:-3], 3, -1, -1), True
    w = torch.tensor([19595, 38470, 7471], dtype=torch.int64).view(3, 1, 1)  # PIL's convert("L") weights
    luma = ((x.long() * w).sum(-3, keepdim=True) + 32768).div(65536, rounding_mode="floor")
    return luma.to(torch.uint8), True


class ArrayItems(torch.utils.data.Dataset):
    """Image ``i`` of an array (in memory or mapped from disk) at ``input_shape``."""

    def __init__(self, x, layout: str, input_shape):
        self.x, self.layout, self.input_shape = x, layout, tuple(input_shape)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        a = torch.from_numpy(np.array(self.x[i], dtype=np.uint8, copy=True))
        a = a[None] if self.layout == "NHW" else a.permute(2, 0, 1) if self.layout == "NHWC" else a
        a, converted = to_channels(a, self.input_shape[0])
        return fit_image(a, self.input_shape[1]), "", converted


def _npz_labels(z, path: Path) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The class names and the checked labels ``{"y": ..., "y_test": ...}``."""
    labels = {}
    for name in ("y", "y_test"):
        y = _npz_array(z, path, name, required=name == "y")
        if y is None:
            continue
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise UserError(f"{path}: {name}: {y.dtype} array of shape {tuple(y.shape)}; expected integer labels (N,)")
        labels[name] = y.astype(np.int64)
    names = _npz_array(z, path, "classes", required=False)
    if names is not None and (names.ndim != 1 or names.dtype.kind != "U"):
        raise UserError(f"{path}: classes: {names.dtype} array of shape {names.shape}; expected the class names (K,)")
    # without names, the largest label says how many classes there are (at most space.num_classes' limit)
    k = (
        len(names)
        if names is not None
        else min(100_000, 1 + max((int(y.max()) for y in labels.values() if y.size), default=0))
    )
    for name, y in labels.items():
        bad = np.flatnonzero((y < 0) | (y >= k))
        if bad.size:
            i = int(bad[0])
            raise UserError(
                f"{path}: {name}: label {int(y[i])} at index {i} is out of range; expected 0..{k - 1}"
                + (" (one per name in classes)" if names is not None else "")
            )
    return tuple(map(str, names)) if names is not None else tuple(str(i) for i in range(k)), labels


def npz_classes(root) -> tuple[str, ...]:
    path = Path(root)
    with _open_npz(path) as z:
        return _npz_labels(z, path)[0]


def own_classes(name: str, root) -> tuple[str, ...]:
    return folder_classes(root) if name == "imagefolder" else npz_classes(root)


# --- reading: parts, decoding pass ------------------------------------------------------


@dataclass
class OwnPart:
    items: torch.utils.data.Dataset  # what decodes image i
    labels: torch.Tensor
    where: str  # the folder or array it comes from (error lines)


def _npz_parts(path: Path, input_shape, stream: bool) -> tuple[tuple[str, ...], dict[str, OwnPart]]:
    with _open_npz(path) as z:
        classes, labels = _npz_labels(z, path)
        parts = {}
        for xname, yname, part in (("x", "y", "all"), ("x_test", "y_test", "test")):
            if yname not in labels:
                if xname in z.files:
                    raise UserError(f"{path}: has {xname} but no {yname}; give both or neither")
                continue
            x = (_npz_memmap(path, xname) if stream else None) if xname in z.files else None
            x = x if x is not None else _npz_array(z, path, xname)
            layout = _image_layout(x, path, xname)
            if len(x) != len(labels[yname]):
                raise UserError(f"{path}: {xname} has {len(x)} images but {yname} {len(labels[yname])} labels")
            parts[part] = OwnPart(
                ArrayItems(x, layout, input_shape), torch.from_numpy(labels[yname]), f"{path}: {yname}"
            )
    if "test" not in parts and "y_test" in labels:
        raise UserError(f"{path}: has y_test but no x_test; give both or neither")
    return classes, parts


def read_own(name: str, root, input_shape, stream: bool) -> tuple[tuple[str, ...], dict[str, OwnPart]]:
    """The classes and the parts (``all`` to split, or ``train``/``val``/``test``), not decoded yet."""
    if name == "npz":
        classes, parts = _npz_parts(Path(root), input_shape, stream)
        if "test" in parts:
            parts["train"] = parts.pop("all")
    else:
        classes, files = folder_parts(root)
        parts = {
            p: OwnPart(
                FolderItems([f for f, _ in fl], input_shape), torch.tensor([lab for _, lab in fl]), str(Path(root) / p)
            )
            for p, fl in files.items()
        }
    for part in parts.values():
        counts = torch.bincount(part.labels, minlength=len(classes))
        if (counts == 0).any():
            k = int((counts == 0).nonzero()[0])
            raise UserError(f"{part.where}: class {classes[k]!r} has no images")
    return classes, parts


@dataclass
class DecodedPool:
    """One part after the decoding pass: the images (None: streamed) and per-image pixel
    sums and sums of squares per channel (int64, exact), the images kept."""

    images: torch.Tensor | None
    sums: torch.Tensor  # (N, 2C): sum, sum of squares per channel
    keep: torch.Tensor  # indices of the readable images (all unless data.bad_files: skip)
    converted: int
    skipped: list[str]


def _pass_batch(batch) -> tuple:
    """A worker's share of the decoding pass, summed where it was decoded and sent as a few
    tensors (not one per image): ``(images of the readable ones, their sums, ok, errors, converted)``."""
    ok = torch.tensor([not error for _, error, _ in batch], dtype=torch.bool)
    good = [x for x, error, _ in batch if not error]
    images = torch.stack(good) if good else None
    sums = None
    if good:
        v = images.long()
        sums = torch.cat([v.sum((2, 3)), (v * v).sum((2, 3))], 1)
    return images, sums, ok, [error for _, error, _ in batch if error], sum(conv for _, _, conv in batch)


def decode_all(items, index: torch.Tensor, keep_images: bool, workers: int, bad_files: str) -> DecodedPool:
    """Decode images ``items[index]`` once (``workers`` processes for many); one line for the
    first unreadable file unless ``bad_files`` is ``skip``."""
    n = len(index)
    c, h, w = items.input_shape
    images = torch.empty((n, c, h, w), dtype=torch.uint8) if keep_images else None
    sums = torch.zeros((n, 2 * c), dtype=torch.int64)
    ok = torch.ones(n, dtype=torch.bool)
    converted, skipped = 0, []
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(items, index.tolist()),
        batch_size=PASS_BATCH,
        num_workers=workers if n > 4 * PASS_BATCH else 0,
        collate_fn=_pass_batch,
    )
    start = 0
    for batch_images, batch_sums, batch_ok, errors, conv in loader:
        if errors and bad_files != "skip":
            raise UserError(errors[0])
        skipped += errors
        converted += conv
        where = start + batch_ok.nonzero().flatten()
        ok[start : start + len(batch_ok)] = batch_ok
        if batch_sums is not None:
            sums[where] = batch_sums
            if images is not None:
                images[where] = batch_images
        start += len(batch_ok)
    return DecodedPool(images, sums, ok.nonzero().flatten(), converted, skipped)


def channel_stats(sums: torch.Tensor, pixels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std per channel (in [0, 1] units) from per-image sums over ``pixels`` each."""
    c = sums.shape[1] // 2
    total = sums.sum(0).double()
    count = float(len(sums) * pixels)
    mean = total[:c] / count
    var = (total[c:] / count - mean * mean).clamp(min=1e-12)
    return tuple((mean / 255).tolist()), tuple((var.sqrt() / 255).clamp(min=1e-3).tolist())
