"""Data-layer hardening: bad files and broken caches end in clear errors (or a rebuild), sizes are bounded."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from actlab.data import cache
from actlab.data.files import load_file
from actlab.data.toy import load_toy
from actlab.errors import ActlabError


def test_npz_with_zero_feature_columns_is_refused(tmp_path):
    path = tmp_path / "empty_features.npz"
    np.savez(path, X=np.zeros((10, 0)), y=np.arange(10) % 2)
    with pytest.raises(ActlabError, match="no feature columns"):
        load_file(path)


def test_csv_value_beyond_float32_is_refused(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,label\n1,0\n1e308,1\n2,0\n3,1\n")
    with pytest.raises(ActlabError, match=r"line 3, column 'a': '1e308' is beyond float32"):
        load_file(path)


def test_npz_value_beyond_float32_is_refused(tmp_path):
    path = tmp_path / "big.npz"
    np.savez(path, X=np.array([[1.0], [1e300], [2.0], [3.0]]), y=np.array([0, 1, 0, 1]))
    with pytest.raises(ActlabError, match="beyond float32"):
        load_file(path)


def test_directory_says_it_is_a_directory(tmp_path):
    folder = tmp_path / "data.csv"
    folder.mkdir()
    with pytest.raises(ActlabError, match="is a directory"):
        load_file(folder)


def test_pickled_npz_never_suggests_allow_pickle(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, X=np.array([{"a": 1}, {"b": 2}], dtype=object), y=np.array([0, 1]))
    with pytest.raises(ActlabError) as caught:
        load_file(path)
    message = str(caught.value)
    assert "allow_pickle" not in message and "Python objects" in message


def test_toy_size_bomb_is_refused_with_estimate_and_limit():
    with pytest.raises(ActlabError, match=r"n=10000000000 would need about .* GiB.*the limit is 20000000 points"):
        load_toy("circle", n=10_000_000_000)


def _fake_mnist(n=20):
    rng = np.random.default_rng(0)
    return {f"{a}_{p}": (rng.integers(0, 256, (n, 784), dtype=np.uint8) if a == "x" else np.arange(n) % 10)
            for a in "xy" for p in ("train", "val", "test")}


def test_mnist_cache_wrong_shapes_with_valid_digest_is_rebuilt(tmp_path, monkeypatch):
    from actlab.data import mnist

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    bad = {k: (v[:, :10] if k.startswith("x") else v) for k, v in _fake_mnist().items()}
    cache.save_arrays(tmp_path / mnist.CACHE_FILE, bad)  # a valid digest over the wrong shapes
    good = _fake_mnist()
    monkeypatch.setattr(mnist, "package_file", lambda: tmp_path / "fake.pkl.gz")
    monkeypatch.setattr(mnist, "read_pickle", lambda path: good)
    arrays = mnist.raw_arrays()
    assert arrays["x_train"].shape == (20, 784)
    assert cache.load_arrays(tmp_path / mnist.CACHE_FILE)["x_train"].shape == (20, 784)  # rewritten


def test_mnist_cache_file_replaced_by_a_directory_warns_and_continues(tmp_path, monkeypatch):
    from actlab.data import mnist

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    (tmp_path / mnist.CACHE_FILE).mkdir()
    (tmp_path / mnist.CACHE_FILE / "keep").write_text("x")
    good = _fake_mnist()
    monkeypatch.setattr(mnist, "package_file", lambda: tmp_path / "fake.pkl.gz")
    monkeypatch.setattr(mnist, "read_pickle", lambda path: good)
    with pytest.warns(RuntimeWarning, match="cannot write the MNIST cache.*remove that directory"):
        arrays = mnist.raw_arrays()
    assert arrays["x_train"].shape == (20, 784)


def test_mnist_read_only_cache_warns_and_continues(tmp_path, monkeypatch):
    from actlab.data import mnist

    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    good = _fake_mnist()
    monkeypatch.setattr(mnist, "package_file", lambda: tmp_path / "fake.pkl.gz")
    monkeypatch.setattr(mnist, "read_pickle", lambda path: good)

    def read_only(path, arrays):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(mnist, "save_arrays", read_only)
    with pytest.warns(RuntimeWarning, match="cannot write the MNIST cache"):
        arrays = mnist.raw_arrays()
    assert arrays["y_test"].shape == (20,)


def test_saved_formulas_in_an_unusable_location_warn_on_first_lookup(monkeypatch, tmp_path):
    import actlab
    from actlab import resolve
    from actlab.errors import UnknownNameError

    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / ("a" * 300)))
    monkeypatch.setitem(resolve._state, "saved", False)
    with pytest.warns(RuntimeWarning, match="cannot check the saved-formulas file.*File name too long.*ACTLAB_CONFIG_DIR"):
        with pytest.raises(UnknownNameError):
            actlab.get("no_such_saved_formula")
    assert actlab.get("relu").name == "relu"  # everything else still works
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UnknownNameError):
            actlab.get("another_missing_name")  # loaded once per process: no second warning


# ------------------------------------------------------------------ through the CLI: exit 2, no traceback
def _cli(capsys, *argv):
    from actlab.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_hostile_data_inputs_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))
    zero = tmp_path / "zero.npz"
    np.savez(zero, X=np.zeros((10, 0)), y=np.arange(10) % 2)
    big = tmp_path / "big.csv"
    big.write_text("a,label\n1,0\n-1e300,1\n2,0\n3,1\n")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    cases = [
        (("data", "show", "circle", "-O", "n=10000000000"), "the limit is 20000000 points"),
        (("data", "show", str(zero)), "no feature columns"),
        (("data", "show", str(big)), "beyond float32"),
        (("data", "show", str(folder)), "is a directory"),
    ]
    for argv, message in cases:
        code, out, err = _cli(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert message in err and "Traceback" not in err + out, (argv, err)


def test_cli_formula_beyond_64_bits_and_the_slow_formula(capsys):
    import json

    code, out, err = _cli(capsys, "eval", "1e19*x**2", "--x", "1,2", "--json")
    assert code == 0, err
    assert json.loads(out)["dy"] == [2e19, 4e19]
    code, out, err = _cli(capsys, "eval", "sqrt(sinh(tan(erf(sqrt(sinh(sqrt(sqrt(sinh(tan(erf(cosh(exp(sinh(sqrt(x)))))))))))))))",
                          "--x", "1,2", "--json")
    assert code == 0, err
    assert len(json.loads(out)["dy"]) == 2



def test_cached_arrays_in_a_read_only_cache_warn_and_continue(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    (tmp_path / "thing.npz").mkdir()  # a directory where the cache file belongs: cannot be replaced
    with pytest.warns(RuntimeWarning, match="cannot write the cache file .*thing.npz.*remove that directory"):
        arrays = cache.cached_arrays("thing.npz", lambda: {"a": np.arange(3)})
    assert arrays["a"].tolist() == [0, 1, 2]


def test_a_directory_without_a_suffix_or_given_to_compare_says_it_is_a_directory(tmp_path, monkeypatch, capsys):
    from actlab.cli import main
    from actlab.data import load

    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain").mkdir()
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ActlabError, match="'plain' is a directory"):
        load("plain")  # not "unknown dataset"
    for name in ("plain", "d.csv"):  # compare: not "dataset file d.csv not found"
        assert main(["compare", "--dataset", name, "--acts", "relu", "--epochs", "1", "--quiet",
                     "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert f"'{name}' is a directory" in err and "Traceback" not in err
