"""The playground refuses other web pages and hostile bodies: a real uvicorn server probed with raw sockets.

Host and Origin (DNS rebinding, cross-site WebSocket hijacking, foreign POSTs),
a chunked body far over the limit (refused while the server's memory stays
flat), ``--host 0.0.0.0`` reachable under the machine's own names and addresses.
"""
from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}

# the server reads its stdin, which the test process holds: when the test process ends, the server ends too
SERVER = """
import os, sys, threading
import uvicorn
from actlab.web.app import create_app
from actlab.web.limits import Limits
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
uvicorn.run(create_app(Limits(formula_deadline_s=30.0)), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(command: list[str], port: int, log: Path, connect: str = "127.0.0.1") -> subprocess.Popen:
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=ENV)
    deadline = time.monotonic() + 90
    while True:
        try:
            status = request(port, f"GET /api/limits HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n", connect=connect)
            assert status.startswith(b"HTTP/1.1 200"), status
            return process
        except OSError:
            assert process.poll() is None, f"the server exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"the server did not start in 90 s: {log.read_text()}"
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
    if process.stdin:
        process.stdin.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    process = _start([sys.executable, "-c", SERVER, str(port)], port,
                     tmp_path_factory.mktemp("playground-security") / "server.log")
    try:
        yield port, process.pid
    finally:
        _stop(process)


def request(port: int, text: str, connect: str = "127.0.0.1", body: bytes = b"") -> bytes:
    """Send one raw HTTP request; the whole reply (the server closes the connection or the reply is complete)."""
    with socket.create_connection((connect, port), timeout=20) as s:
        s.sendall(text.encode("latin-1") + body)
        reply = b""
        while b"\r\n\r\n" not in reply or (b" 101 " not in reply.split(b"\r\n")[0] and not _complete(reply)):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


def _complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def get(port: int, path: str, host: str, origin: str | None = None, extra: str = "") -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n" + (f"Origin: {origin}\r\n" if origin else "")
    return request(port, head + extra + "\r\n")


def handshake(port: int, host: str, origin: str | None, connect: str = "127.0.0.1") -> bytes:
    head = (f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n" + (f"Origin: {origin}\r\n" if origin else ""))
    return request(port, head + "\r\n", connect=connect)


def status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


@pytest.mark.parametrize("path", ["/", "/api/limits", "/api/activations", "/static/style.css", "/ws"])
def test_a_foreign_host_is_refused(server, path):
    port, _ = server
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", f"127.0.0.1:{port + 1}",
                 f"localhost.:{port}x", ""):
        reply = handshake(port, host, None) if path == "/ws" else get(port, path, host)
        assert status(reply) == 403, (host, reply[:300])
        assert b"forbidden" in reply and b"101" not in reply.split(b"\r\n")[0]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        reply = handshake(port, host, None) if path == "/ws" else get(port, path, host)
        assert status(reply) == (101 if path == "/ws" else 200), (host, reply[:300])


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "file://", "http://127.0.0.1.evil.example",
                                    "http://127.0.0.1", "https://127.0.0.1:{port}x", "http://127.0.0.1:{other}",
                                    "http://localhost:{other}", "http://evil.example:{port}"])
def test_a_foreign_origin_cannot_open_a_websocket_or_post(server, origin):
    port, _ = server
    origin = origin.format(port=port, other=port + 1)
    reply = handshake(port, f"127.0.0.1:{port}", origin)
    assert status(reply) == 403, reply[:300]  # refused before the upgrade: no session was handed out
    body = b'{"formula": "x"}'
    post = (f"POST /api/formula HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {origin}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    reply = request(port, post, body=body)
    assert status(reply) == 403 and b"refused" in reply, reply[:300]
    for path in ("/", "/api/limits"):
        assert status(get(port, path, f"127.0.0.1:{port}", origin)) == 403


def test_the_own_origins_pass(server):
    port, _ = server
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"):
        assert status(handshake(port, f"127.0.0.1:{port}", origin)) == 101
        assert status(get(port, "/api/limits", f"127.0.0.1:{port}", origin)) == 200
    body = b'{"formula": ""}'  # refused by the formula check itself (422), not by the guard
    post = (f"POST /api/formula HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://localhost:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    reply = request(port, post, body=body)
    assert status(reply) == 422 and b"empty" in reply
    # a navigation from another site may open the page; another site's subresource request may not
    site = "Sec-Fetch-Site: cross-site\r\n"
    assert status(get(port, "/", f"127.0.0.1:{port}", extra=site + "Sec-Fetch-Mode: navigate\r\n")) == 200
    assert status(get(port, "/api/limits", f"127.0.0.1:{port}", extra=site + "Sec-Fetch-Mode: no-cors\r\n")) == 403


def _memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
@pytest.mark.parametrize("path", ["/api/formula", "/api/session/0/upload"])
def test_a_chunked_body_far_over_the_limit_is_refused_while_memory_stays_flat(server, path):
    port, pid = server
    if path.endswith("upload"):  # a real session: the upload's limit is the larger one
        path = "/api/session/{}/upload"
        # the id comes from a session the test opens over a raw WebSocket handshake; the handshakes of the tests
        # before may still hold sessions until the server notices they hung up: retry while it says so
        deadline = time.monotonic() + 90
        while True:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as ws:
                ws.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                            f"Connection: Upgrade\r\nSec-WebSocket-Key: {WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
                seen = b""
                while b'"session"' not in seen and b"too many" not in seen:
                    part = ws.recv(65536)
                    assert part, f"the server hung up: {seen[:300]}"
                    seen += part
                if b'"session"' in seen:
                    session = seen.split(b'"session"', 1)[1].split(b'"')[1].decode()
                    _chunked(port, pid, path.format(session))
                    return
            assert time.monotonic() < deadline, seen[:300]
            time.sleep(1)
    else:
        _chunked(port, pid, path)


def _chunked(port: int, pid: int, path: str) -> None:
    # 1 GiB, generated lazily in 64 KiB chunks; the server must answer 413 and hang up long before the end
    rss_before, peak_before = _memory_mb(pid)
    chunk = b"[" * 65536
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent, reply = 0, b""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        try:
            while sent < 1 << 30:
                if select.select([s], [], [], 0)[0]:
                    break
                s.sendall(framed)
                sent += len(chunk)
        except OSError:  # the server hung up (reset) after its answer
            pass
        try:
            while select.select([s], [], [], 5)[0]:
                part = s.recv(65536)
                if not part:
                    break
                reply += part
        except OSError:
            pass
    time.sleep(0.3)
    rss_after, peak_after = _memory_mb(pid)
    assert sent < 64 << 20, f"the server read {sent >> 20} MiB of a body whose limit is under 1 MiB"
    if reply:  # (a reset can overtake the answer on some kernels; the hang-up above is the refusal then)
        assert status(reply) == 413 and b"larger than" in reply, reply[:300]
    assert peak_after - peak_before < 40, (rss_before, peak_before, rss_after, peak_after)
    assert rss_after - rss_before < 40, (rss_before, peak_before, rss_after, peak_after)


def _addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (from its host name and the route out), maybe none."""
    found = set()
    try:
        found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            found.add(s.getsockname()[0])
    except OSError:
        pass
    return sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")


@pytest.mark.slow
def test_every_interface_answers_its_own_names_and_addresses_only(tmp_path):
    port = _free_port()
    command = [sys.executable, "-c", "import sys; from actlab.cli import main; sys.exit(main())", "playground",
               "--host", "0.0.0.0", "--port", str(port), "--allow-host", "playground.lan"]
    process = _start(command, port, tmp_path / "server.log")
    try:
        hostname = socket.gethostname().lower()
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"{hostname}:{port}", f"playground.lan:{port}"):
            assert status(get(port, "/api/limits", host)) == 200, host
            assert status(handshake(port, host, f"http://{host}")) == 101, host
        for host in (f"evil.example:{port}", f"playground.lan.evil.example:{port}"):
            assert status(get(port, "/api/limits", host)) == 403, host
        for address in _addresses():  # the page opened at the machine's address, from another machine
            reply = request(port, f"GET / HTTP/1.1\r\nHost: {address}:{port}\r\nConnection: close\r\n\r\n", connect=address)
            assert status(reply) == 200, (address, reply[:200])
            assert status(handshake(port, f"{address}:{port}", f"http://{address}:{port}", connect=address)) == 101
    finally:
        _stop(process)


def test_allow_host_is_checked(capsys):
    from actlab.cli import main

    assert main(["playground", "--allow-host", "http://mybox.lan:80"]) == 2
    assert "--allow-host" in capsys.readouterr().err
