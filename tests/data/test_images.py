"""Image folders: one sub-folder per class, PNG/JPEG, resized on request; every bad folder named."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from actlab.data import load
from actlab.errors import ActlabError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))


def _folder(root, classes=("cat", "dog"), n=10, size=(8, 6), mode="RGB", suffix=".png"):
    rng = np.random.default_rng(0)
    pixels = {}
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(n):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            array = rng.integers(0, 256, shape, dtype=np.uint8)
            Image.fromarray(array, mode).save(root / name / f"{i}{suffix}")
            pixels[(name, i)] = array
    return pixels


def test_a_folder_loads_as_classes_with_the_pixels_in_chw(tmp_path):
    pixels = _folder(tmp_path / "pets")
    data = load(tmp_path / "pets", standardize=False, val_fraction=0.0, test_fraction=0.2)
    assert data.task == "classification" and data.num_classes == 2 and data.extra["classes"] == ["cat", "dog"]
    assert data.input_shape == (3, 6, 8) and len(data.x_train) + len(data.x_test) == 20
    every = np.concatenate([data.x_train.numpy(), data.x_test.numpy()])
    labels = np.concatenate([data.y_train.numpy(), data.y_test.numpy()])
    expected = {name: [a.transpose(2, 0, 1) / 255.0 for (c, _), a in pixels.items() if c == name]
                for name in ("cat", "dog")}
    for x, y in zip(every, labels):  # each loaded image is one of its class's files, scaled to [0, 1]
        assert any(np.allclose(x, e, atol=1e-6) for e in expected[("cat", "dog")[y]])


def test_grayscale_stays_one_channel_and_image_size_resizes(tmp_path):
    _folder(tmp_path / "g", mode="L", size=(10, 10))
    data = load(tmp_path / "g", image_size=4)
    assert data.input_shape == (1, 4, 4)
    assert abs(float(data.x_train.mean())) < 1e-5  # standardised with the training pixels' mean by default


def test_mixed_sizes_without_image_size_are_refused_then_resized(tmp_path):
    _folder(tmp_path / "m", n=3)
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(tmp_path / "m" / "dog" / "big.png")
    with pytest.raises(ActlabError, match=r"different sizes .* 9×9.*--image-size"):
        load(tmp_path / "m")
    assert load(tmp_path / "m", image_size=5).input_shape == (3, 5, 5)


@pytest.mark.parametrize("make, message", [
    (lambda root: root.mkdir(), r"'.*bad' is a directory with no class sub-folders"),
    (lambda root: (_folder(root), (root / "bird").mkdir()), r"class 'bird' has no images"),
    (lambda root: (_folder(root), (root / "cat" / "x.png").write_bytes(b"not a png")),
     r"cannot read cat/x\.png as an image"),
    (lambda root: _folder(root, classes=("only",)), r"one class \('only'\)"),
], ids=["empty", "empty-class", "unreadable", "one-class"])
def test_bad_folders_are_named(tmp_path, make, message):
    make(tmp_path / "bad")
    with pytest.raises(ActlabError, match=message):
        load(tmp_path / "bad")
