"""Toy sets, digits, MNIST-1D, the user's CSV/npz files, and the array cache."""
from __future__ import annotations

import os
import pickle
import random
import socket

import numpy as np
import pytest
import torch

from actlab import data
from actlab.data import cache
from actlab.data.toy import TOY_CLASSIFICATION, TOY_NAMES, TOY_REGRESSION
from actlab.errors import ActlabError, ParameterError, UnknownNameError


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))


# --- names and options ----------------------------------------------------------------------------

def test_names_cover_the_issue():
    assert set(data.names()) >= {*TOY_NAMES, "mnist", "mnist1d", "digits"}
    assert len(set(data.names())) == len(data.names())


def test_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'circle'|did you mean circle"):
        data.load("circel")


def test_names_are_case_insensitive():
    assert data.load("CIRCLE", n=50).name == "circle"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n": -5}, "n must be >= 1"),
        ({"n": 1.5}, "n must be an integer"),
        ({"noise": -0.1}, "noise must be >= 0"),
        ({"noise": float("nan")}, "noise must be finite"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"nosie": 0.1}, "unknown option 'nosie'.*did you mean noise"),
        ({"val_fraction": 0.6, "test_fraction": 0.5}, "must be < 1"),
        ({"standardize": "yes"}, "standardize must be true or false"),
        ({"n": 3, "val_fraction": 0.5, "test_fraction": 0.4}, "no training points"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ParameterError, match=message):
        data.load("xor", **options)


# --- toy sets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_seeded(name):
    a = data.load(name, n=200, noise=0.1, seed=3)
    b = data.load(name, n=200, noise=0.1, seed=3)
    c = data.load(name, n=200, noise=0.1, seed=4)
    for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(a, part), getattr(b, part)), part
    assert not torch.equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", TOY_NAMES)
def test_toy_shapes_and_labels(name):
    ds = data.load(name, n=500)
    assert ds.x_train.shape == (300, 2) and ds.x_val.shape == (100, 2) and ds.x_test.shape == (100, 2)
    assert ds.x_train.dtype == torch.float32 and ds.input_shape == (2,)
    if name in TOY_CLASSIFICATION:
        assert ds.task == "classification" and ds.num_classes == 2
        assert ds.y_train.dtype == torch.int64 and ds.y_train.shape == (300,)
        assert set(torch.cat([ds.y_train, ds.y_val, ds.y_test]).tolist()) == {0, 1}
    else:
        assert ds.task == "regression" and ds.num_classes == 0
        assert ds.y_train.dtype == torch.float32 and ds.y_train.shape == (300, 1)


def test_toy_split_fractions_are_options():
    ds = data.load("moons", n=100, val_fraction=0.1, test_fraction=0.3)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (60, 10, 30)


def test_toy_splits_are_disjoint():
    ds = data.load("linear", n=300, seed=2)
    rows = {tuple(p) for p in torch.cat([ds.x_train, ds.x_val, ds.x_test]).tolist()}
    assert len(rows) == 300


@pytest.mark.parametrize("name", TOY_CLASSIFICATION)
def test_toy_class_balance(name):
    ds = data.load(name, n=2000, seed=1)
    y = torch.cat([ds.y_train, ds.y_val, ds.y_test]).float()
    assert 0.42 < y.mean().item() < 0.58


def _all(ds):
    return torch.cat([ds.x_train, ds.x_val, ds.x_test]), torch.cat([ds.y_train, ds.y_val, ds.y_test])


@pytest.mark.parametrize("name", TOY_CLASSIFICATION)
def test_true_boundary_separates_noiseless_set(name):
    ds = data.load(name, n=1000, noise=0.0, seed=5)
    x, y = _all(ds)
    boundary = ds.extra["boundary"]
    scores = boundary(x)
    assert isinstance(scores, torch.Tensor) and scores.shape == (1000,)
    assert torch.equal(boundary.label(x), y)
    assert torch.all(scores != 0)
    assert data.true_boundary(name) == boundary


@pytest.mark.parametrize("name", ["circle", "spiral", "xor", "moons", "gaussian"])
def test_noise_moves_points_across_the_boundary(name):
    ds = data.load(name, n=1000, noise=0.6, seed=5)
    x, y = _all(ds)
    assert (ds.extra["boundary"].label(x) != y).sum() > 10


@pytest.mark.parametrize("name", TOY_REGRESSION)
def test_true_target_matches_noiseless_regression(name):
    ds = data.load(name, n=400)
    x, y = _all(ds)
    target = ds.extra["target"]
    assert torch.allclose(target(x), y, atol=1e-6)
    assert data.true_boundary(name) is None and data.true_target(name) == target
    assert y.std() > 0.1


def test_known_boundaries_by_formula():
    points = np.array([[2.0, 0.5], [0.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    assert (data.true_boundary("linear")(points) > 0).tolist() == [True, False, True, False]
    assert (data.true_boundary("periodic")(points) > 0).tolist() == [True, False, True, False]  # x1 > cos(x0)
    assert (data.true_boundary("circle")(points) > 0).tolist() == [False, True, False, False]
    assert (data.true_boundary("xor")(np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])) > 0).tolist() == [True, True, False]


def test_true_function_is_picklable_and_checks_shape():
    boundary = data.load("spiral", n=50).extra["boundary"]
    clone = pickle.loads(pickle.dumps(boundary))
    grid = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    assert np.array_equal(clone(grid), boundary(grid))
    with pytest.raises(ParameterError, match=r"shape \(m, 2\)"):
        boundary(np.zeros((3, 3)))
    with pytest.raises(UnknownNameError):
        data.true_boundary("mnst")


def test_toy_standardize_uses_train_statistics():
    ds = data.load("periodic", n=1000, standardize=True)
    assert torch.allclose(ds.x_train.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(ds.x_train.std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert ds.extra["standardize"]["std"][0] > 3  # x0 spans [-3π, 3π]


# --- digits ---------------------------------------------------------------------------------------

def test_digits_split_and_range():
    ds = data.load("digits")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1079, 359, 359)
    assert ds.x_train.shape[1:] == (64,) and ds.num_classes == 10
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() == 1.0
    counts = torch.bincount(ds.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # stratified


def test_digits_read_without_sklearn_equal_sklearns_loader(monkeypatch):
    from sklearn.datasets import load_digits as reference

    from actlab.data import digits

    pixels, labels = digits._read_digits()
    bunch = reference()
    assert np.array_equal(pixels, bunch.data) and np.array_equal(labels, bunch.target)
    import sklearn.datasets

    calls = []
    monkeypatch.setattr(digits.importlib.util, "find_spec", lambda name: None)  # the file not found: sklearn's loader
    monkeypatch.setattr(sklearn.datasets, "load_digits", lambda: calls.append(1) or reference())
    again, labels_again = digits._read_digits()
    assert calls == [1]
    assert np.array_equal(again, bunch.data) and np.array_equal(labels_again, bunch.target)


def test_digits_seed_shape_and_subset():
    a, b = data.load("digits", seed=1), data.load("digits", seed=2)
    assert not torch.equal(a.y_train, b.y_train)
    assert torch.equal(a.y_train, data.load("digits", seed=1).y_train)
    image = data.load("digits", flatten=False, subset=100)
    assert image.x_train.shape == (100, 1, 8, 8) and image.input_shape == (1, 8, 8)
    assert torch.bincount(image.y_train, minlength=10).tolist() == [10] * 10


def test_digits_standardize_is_global():
    ds = data.load("digits", standardize=True)
    assert abs(ds.x_train.mean().item()) < 1e-4
    assert abs(ds.x_train.std(unbiased=False).item() - 1) < 1e-3
    assert np.ndim(ds.extra["standardize"]["mean"]) == 0


# --- MNIST-1D -------------------------------------------------------------------------------------

def test_mnist1d_offline_cached_and_rng_kept(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    random.seed(123)
    np.random.seed(123)
    expected_python, expected_numpy = random.random(), np.random.random()
    random.seed(123)
    np.random.seed(123)
    ds = data.load("mnist1d")
    assert (random.random(), np.random.random()) == (expected_python, expected_numpy)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (3500, 500, 1000)
    assert ds.x_train.shape[1:] == (40,) and ds.num_classes == 10
    assert torch.bincount(ds.y_val, minlength=10).min() >= 49
    path = cache.cache_dir() / "mnist1d-v1.npz"
    assert path.is_file()

    import actlab.data.mnist1d as module

    monkeypatch.setattr(module, "generate", lambda: pytest.fail("cache not reused"))
    again = data.load("mnist1d", flatten=False, val_size=1000, seed=4)
    assert again.x_train.shape == (3000, 1, 40)
    assert torch.equal(again.x_test.flatten(1), ds.x_test)


def test_mnist1d_bad_val_size():
    with pytest.raises(ParameterError, match="val_size"):
        data.load("mnist1d", val_size=-1)


# --- the user's files -----------------------------------------------------------------------------

def _write(tmp_path, text, name="my.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_classification_with_label_remap(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5},{7 if i % 3 else 3}" for i in range(30))
    path = _write(tmp_path, "a,b,label\n" + rows + "\n")
    ds = data.load(str(path), target="label")
    assert ds.task == "classification" and ds.num_classes == 2 and ds.extra["classes"] == [3, 7]
    assert ds.input_shape == (2,) and ds.extra["feature_names"] == ["a", "b"]
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (18, 6, 6)
    x, y = _all(ds)
    # label 0 (originally 3) exactly where a is a multiple of 3
    assert torch.equal(y, (x[:, 0] % 3 != 0).long())


def test_csv_guesses_label_column_and_string_classes(tmp_path):
    path = _write(tmp_path, "x,y,species\n1,2,cat\n2,3,dog\n3,1,cat\n4,4,dog\n5,5,bird\n6,6,cat\n", "pets.csv")
    with pytest.raises(ActlabError, match="say which column"):
        data.load(path)  # no column called label/target: we do not guess
    ds = data.load(path, target="species", val_fraction=0.0, test_fraction=0.0)
    assert ds.extra["classes"] == ["bird", "cat", "dog"] and ds.num_classes == 3
    assert len(ds.y_train) == 6


def test_csv_regression_and_override(tmp_path):
    rows = "\n".join(f"{i},{i * 0.37:.3f}" for i in range(40))
    path = _write(tmp_path, "x,target\n" + rows)
    ds = data.load(path)
    assert ds.task == "regression" and ds.y_train.shape[1:] == (1,) and ds.num_classes == 0
    ints = _write(tmp_path, "x,t\n" + "\n".join(f"{i},{i % 2}" for i in range(20)), "ints.csv")
    assert data.load(ints, target="t").task == "classification"
    forced = data.load(ints, target="t", task="regression")
    assert forced.task == "regression" and forced.y_train.dtype == torch.float32


@pytest.mark.parametrize(
    "text, options, message",
    [
        ("a,b,label\n1,2,0\n3,4,1\n", {"target": "lable"}, r"no column 'lable'; columns: a, b, label; did you mean 'label'"),
        ("a,b,label\n1,2,0\n3,x,1\n", {"target": "label"}, r"line 3, column 'b': 'x' is not a number"),
        ("", {"target": "label"}, r"my\.csv is empty"),
        ("  \n\n", {"target": "label"}, r"is empty"),
        ("a,b,label\n", {"target": "label"}, r"header but no data rows"),
        ("a,b,label\n1,2,0\n3,4\n", {"target": "label"}, r"line 3: 2 cells but the header has 3 columns \(ragged row\)"),
        ("a,b,label\n1,2,0\n3,4,1,9\n", {"target": "label"}, r"line 3: 4 cells"),
        ("a,b,label\n1,nan,0\n3,4,1\n", {"target": "label"}, r"line 2, column 'b': 'nan' is not finite"),
        ("a,b,label\n1,2,0\n-inf,4,1\n", {"target": "label"}, r"line 3, column 'a': '-inf' is not finite"),
        ("a,b,label\n1,,0\n3,4,1\n", {"target": "label"}, r"line 2, column 'b': empty cell"),
        ("a,b,label\n1,2,1\n3,4,1\n5,6,1\n", {"target": "label"}, r"single class"),
        ("a,b,label\n1,2,inf\n3,4,1\n", {"target": "label"}, r"label 'inf' is not finite"),
        ("a,a,label\n1,2,0\n3,4,1\n", {"target": "label"}, r"duplicate column"),
        ("a,b,label\n1,2,cat\n3,4,dog\n", {"target": "label", "task": "regression"}, r"regression needs numeric labels"),
        ("label\n1\n0\n", {"target": "label"}, r"no feature columns"),
    ],
    ids=["missing-target", "non-numeric", "empty", "blank", "header-only", "ragged-short", "ragged-long",
         "nan", "inf", "empty-cell", "single-class", "inf-label", "duplicate", "regression-strings", "no-features"],
)
def test_csv_errors(tmp_path, text, options, message):
    path = _write(tmp_path, text)
    with pytest.raises(ActlabError, match=message):
        data.load(str(path), **options)


def test_file_errors(tmp_path):
    with pytest.raises(ActlabError, match="no such file"):
        data.load(str(tmp_path / "missing.csv"), target="label")
    other = tmp_path / "data.txt"
    other.write_text("a\n")
    with pytest.raises(ActlabError, match="unsupported file type"):
        data.load(other)
    path = _write(tmp_path, "a,label\n1,0\n2,1\n3,0\n4,1\n5,0\n")
    with pytest.raises(ParameterError, match="unknown option 'noise'"):
        data.load(path, target="label", noise=0.1)


def test_npz_roundtrip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3, 4)).astype(np.float32)
    y = np.arange(50) % 5
    good = tmp_path / "good.npz"
    np.savez(good, X=x, y=y)
    ds = data.load(good)
    assert ds.input_shape == (3, 4) and ds.num_classes == 5 and ds.task == "classification"
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 50

    bad_nan = tmp_path / "nan.npz"
    x_nan = x.copy()
    x_nan[7, 1, 2] = np.nan
    np.savez(bad_nan, X=x_nan, y=y)
    with pytest.raises(ActlabError, match=r"X\[row 7, feature 1, 2\] is nan"):
        data.load(bad_nan)
    missing = tmp_path / "missing_y.npz"
    np.savez(missing, X=x, labels=y)
    with pytest.raises(ActlabError, match=r"no label array 'y'; arrays: X, labels"):
        data.load(missing)
    assert data.load(missing, target="labels").num_classes == 5
    ragged = tmp_path / "ragged.npz"
    np.savez(ragged, X=x, y=y[:40])
    with pytest.raises(ActlabError, match="one label per row"):
        data.load(ragged)
    empty = tmp_path / "empty.npz"
    np.savez(empty, X=np.zeros((0, 2)), y=np.zeros(0))
    with pytest.raises(ActlabError, match="empty"):
        data.load(empty)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(ActlabError, match="junk.npz is not a valid .npz archive"):
        data.load(junk)


# --- cache ----------------------------------------------------------------------------------------

def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert cache.cache_dir() == tmp_path / "elsewhere" and (tmp_path / "elsewhere").is_dir()


def test_cache_roundtrip_and_corruption(tmp_path):
    path = tmp_path / "c.npz"
    arrays = {"a": np.arange(1000, dtype=np.int64), "b": np.ones((3, 4), np.float32)}
    cache.save_arrays(path, arrays)
    loaded = cache.load_arrays(path)
    assert set(loaded) == {"a", "b"} and np.array_equal(loaded["a"], arrays["a"])
    raw = bytearray(path.read_bytes())
    index = raw.find(np.arange(1000, dtype=np.int64)[500:502].tobytes())
    raw[index] ^= 0xFF  # flip one stored value; the zip is still readable
    path.write_bytes(bytes(raw))
    assert cache.load_arrays(path) is None
    path.write_bytes(b"garbage")
    assert cache.load_arrays(path) is None
    path.write_bytes(bytes(raw[: len(raw) // 2]))
    assert cache.load_arrays(path) is None


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    cache.save_arrays(path, {"a": np.arange(5)})
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(KeyboardInterrupt):
        cache.save_arrays(path, {"a": np.arange(10)})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]


def test_cached_arrays_builds_once(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"v": np.arange(3)}

    first = cache.cached_arrays("thing.npz", build)
    second = cache.cached_arrays("thing.npz", build)
    assert calls == [1] and np.array_equal(first["v"], second["v"])
