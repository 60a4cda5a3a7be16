"""Frames per second of the playground: the default net (2 hidden layers × 4 tanh, 500 points, one epoch per frame).

Starts ``actlab playground`` in a subprocess, opens one and then two WebSocket
"tabs" that press play, and prints the frames each tab receives per second
(each frame = one training epoch of 250 points in batches of 10, heat maps of
every neuron and the output, gradient-flow and feature-space panels).

    python benchmarks/bench_playground.py [--seconds 8]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

from websockets.sync.client import connect


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tab(url: str, seconds: float, results: list, index: int, start: threading.Barrier) -> None:
    with connect(url, max_size=None) as ws:
        kinds = []
        while "frame" not in kinds:
            kinds.append(json.loads(ws.recv())["type"])
        start.wait()
        ws.send(json.dumps({"type": "play"}))
        frames, first = 0, None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = json.loads(ws.recv())
            if message["type"] == "frame":
                if first is None:
                    first = time.monotonic()
                    epoch0 = message["epoch"]
                frames += 1
                last = time.monotonic()
                epoch = message["epoch"]
        ws.send(json.dumps({"type": "pause"}))
        results[index] = (frames - 1) / (last - first), epoch - epoch0


def measure(url: str, tabs: int, seconds: float) -> list:
    results = [None] * tabs
    barrier = threading.Barrier(tabs)
    threads = [threading.Thread(target=tab, args=(url, seconds, results, i, barrier)) for i in range(tabs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    port = free_port()
    src = os.path.join(os.path.dirname(__file__), "..", "src")
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from actlab.cli import main; sys.exit(main())", "playground", "--port", str(port)],
        env=env, stderr=subprocess.DEVNULL)
    try:
        url = f"ws://127.0.0.1:{port}/ws"
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        measure(url, 1, 2.0)  # warm-up
        print(f"playground frames/s, default net (2×4 tanh, 500 points, 1 epoch/frame), {args.seconds:g} s each, cpus={os.cpu_count()}")
        one = measure(url, 1, args.seconds)
        print(f"  one tab : {one[0][0]:6.1f} frames/s   (target ≥ 20)")
        two = measure(url, 2, args.seconds)
        print(f"  two tabs: {two[0][0]:6.1f} and {two[1][0]:6.1f} frames/s   (target ≥ 10 each)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
