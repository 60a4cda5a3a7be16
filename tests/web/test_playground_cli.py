"""``actlab playground``: help, loopback warning, a clean stop on Ctrl-C, lazy imports."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from actlab.cli.playground import is_loopback

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
MAIN = "import sys; from actlab.cli import main; sys.exit(main())"


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4") and not is_loopback("example.org")


def test_help_imports_no_web_libraries():  # torch: actlab itself imports it until the restructure lands
    code = ("import sys; from actlab.cli import main\n"
            "try:\n    main(['playground', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert "--open" in out.stdout and "--host" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_bad_port_exits_2(capsys):
    from actlab.cli import main

    assert main(["playground", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# 0.0.0.0 is every interface (not loopback: warned); an address this machine does not have is refused before
# serving (exit 2, tests/cli/test_hostile_sweep.py), so it cannot stand for "another interface" here
@pytest.mark.parametrize("host, warns", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_non_loopback_warning_and_interrupt(host, warns, monkeypatch, capsys):
    import uvicorn

    from actlab.cli import main

    seen = {}

    def fake_run(self):
        seen["host"] = self.config.host
        raise KeyboardInterrupt

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    assert main(["playground", "--host", host, "--port", str(_free_port())]) == 0
    err = capsys.readouterr().err
    assert seen["host"] == host and "playground stopped" in err
    assert ("not loopback" in err) == warns


@pytest.mark.slow
@pytest.mark.parametrize("host, warns", [("127.0.0.1", False)])
def test_serves_and_stops_cleanly_on_ctrl_c(host, warns):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", MAIN, "playground", "--host", host, "--port", str(port)],
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/limits", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.time() < deadline and server.poll() is None, server.stderr.read() if server.poll() is not None else "no start"
                time.sleep(0.3)
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, err
    assert "Traceback" not in err and "playground stopped" in err
    assert ("warning" in err and "not loopback" in err) == warns
