"""An image folder: one sub-folder per class, PNG or JPEG files inside (``FOLDER/cat/001.png``, …).

Images are read with Pillow, converted to grayscale when every image is grayscale (else RGB), resized to
``image_size`` × ``image_size`` when it is given (bilinear), scaled to [0, 1] and shaped (C, H, W).  Classes are
the sub-folder names in sorted order (``extra["classes"]``).  Split: seeded and stratified, test 20 %,
validation 20 %, train the rest; ``standardize`` (default on) subtracts the training pixels' mean and divides by
their standard deviation (one scalar, as for the built-in image sets).  The decoded arrays are cached by the
folder's listing (names, sizes, modification times) and ``image_size``.

Every problem is an :class:`ActlabError` naming it: a missing or empty folder, a class folder without images,
an unreadable or truncated image, images of different sizes (without ``image_size``), a single class.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from actlab.data.base import Dataset
from actlab.data.splits import assemble, check_bool, check_fraction, check_int, split_indices
from actlab.errors import ActlabError, ParameterError

__all__ = ["IMAGE_SUFFIXES", "is_image_folder", "load_image_folder", "MAX_IMAGES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGES = 200_000
MAX_SIDE = 1024  # image_size beyond this is refused (memory)


def is_image_folder(path: str | Path) -> bool:
    """True when ``path`` is a directory read as an image folder (not one named like a data file, ``x.csv``)."""
    path = Path(path).expanduser()
    return path.is_dir() and path.suffix.lower() not in (".csv", ".npz")


def _listing(root: Path) -> list[tuple[str, list[Path]]]:
    if not root.exists():
        raise ActlabError(f"image folder {root} not found")
    if not root.is_dir():
        raise ActlabError(f"{root} is not a folder")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        loose = [p.name for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = f" (it holds {len(loose)} images directly: move them into one sub-folder per class)" if loose else ""
        raise ActlabError(f"{str(root)!r} is a directory with no class sub-folders: an image folder needs one "
                          f"sub-folder of PNG/JPEG images per class{hint} (a data file: .csv or .npz)")
    listing = []
    for folder in classes:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                       and not p.name.startswith("."))
        if not files:
            others = sum(1 for p in folder.iterdir() if p.is_file())
            what = f"{others} files, none PNG/JPEG" if others else "no files"
            raise ActlabError(f"image folder {root}: class {folder.name!r} has no images ({what}); each class "
                              "folder needs PNG or JPEG files")
        listing.append((folder.name, files))
    if len(listing) < 2:
        raise ActlabError(f"image folder {root} has one class ({listing[0][0]!r}); classification needs at least "
                          "two class sub-folders")
    total = sum(len(files) for _, files in listing)
    if total > MAX_IMAGES:
        raise ActlabError(f"image folder {root} holds {total:,} images; at most {MAX_IMAGES:,} are read")
    return listing


def _key(listing: list[tuple[str, list[Path]]], image_size: int | None) -> str:
    digest = hashlib.sha256(repr(image_size).encode())
    for name, files in listing:
        for path in files:
            stat = path.stat()
            digest.update(f"{name}/{path.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def _decode(root: Path, listing: list[tuple[str, list[Path]]], image_size: int | None) -> dict[str, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    images, labels, sizes = [], [], {}
    gray = True
    opened = []
    for label, (_, files) in enumerate(listing):
        for path in files:
            try:
                with Image.open(path) as image:
                    image.load()
                    opened.append((label, path, image.copy()))
            except (UnidentifiedImageError, OSError, ValueError) as error:
                raise ActlabError(f"image folder {root}: cannot read {path.relative_to(root)} as an image "
                                  f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") \
                    from None
            gray = gray and opened[-1][2].mode in ("1", "L", "I", "I;16", "F")
    mode = "L" if gray else "RGB"
    for label, path, image in opened:
        image = image.convert(mode)
        if image_size is not None:
            image = image.resize((image_size, image_size), Image.BILINEAR)
        elif image.size not in sizes and sizes:
            first_size, first_path = next(iter(sizes.items()))
            raise ActlabError(
                f"image folder {root}: images of different sizes ({first_path.relative_to(root)} is "
                f"{first_size[0]}×{first_size[1]}, {path.relative_to(root)} is {image.size[0]}×{image.size[1]}); "
                "give --image-size N (image_size=N) to resize them all to N×N")
        sizes.setdefault(image.size, path)
        array = np.asarray(image, dtype=np.float32) / 255.0
        images.append(array[None] if array.ndim == 2 else array.transpose(2, 0, 1))
        labels.append(label)
    return {"x": np.stack(images).astype(np.float32), "y": np.asarray(labels, dtype=np.int64)}


def load_image_folder(
    path: str | Path,
    *,
    image_size: int | None = None,
    task: str | None = None,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    subset: int | None = None,
    val_size: int | None = None,
) -> Dataset:
    """Load an image folder as a classification :class:`Dataset` (see the module docstring).

    ``val_size``: validation images (instead of ``val_fraction``; 0: none)."""
    root = Path(path).expanduser()
    image_size = check_int("image_size", image_size, minimum=1, allow_none=True)
    if image_size is not None and image_size > MAX_SIDE:
        raise ParameterError(f"image_size must be at most {MAX_SIDE}, got {image_size}")
    if task not in (None, "classification"):
        raise ActlabError(f"an image folder is a classification set (one sub-folder per class), not {task!r}")
    val_fraction = check_fraction("val_fraction", val_fraction)
    test_fraction = check_fraction("test_fraction", test_fraction)
    seed = check_int("seed", seed, minimum=0)
    standardize = check_bool("standardize", standardize)
    subset = check_int("subset", subset, minimum=1, allow_none=True)
    val_size = check_int("val_size", val_size, minimum=0, allow_none=True)
    listing = _listing(root)
    from actlab.data.cache import cached_arrays

    arrays = cached_arrays(f"images-{_key(listing, image_size)}.npz", lambda: _decode(root, listing, image_size))
    x, y = arrays["x"], arrays["y"]
    n = len(y)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction) if val_size is None else val_size
    if n - n_test - n_val < 1:
        raise ActlabError(f"image folder {root}: {n} images leave no training images after the validation "
                          "and test splits")
    test_idx, val_idx, train_idx = split_indices(n, (n_test, n_val), np.random.default_rng(seed), y)
    classes = [name for name, _ in listing]
    extra: dict[str, Any] = {"kind": "image_folder", "path": str(root), "classes": classes,
                             "image_size": image_size}
    channels, height, width = x.shape[1:]
    return assemble(
        root.name or str(root),
        {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])},
        task="classification",
        num_classes=len(classes),
        input_shape=(int(channels), int(height), int(width)),
        description=f"{root.name}: {n} images {width}×{height}, {channels} channel(s), {len(classes)} classes",
        extra=extra,
        standardize="global" if standardize else False,
        subset=subset,
        seed=seed,
    )
