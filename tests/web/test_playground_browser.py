"""The playground in a real browser: Playwright driving Debian's Chromium.

Skipped only when Chromium or Playwright is missing *and* ``CI`` is not set; in
CI (``CI=true``) a missing browser is a failure.  The screenshot of the trained
page is saved under ``tests/web/artifacts/`` (override with ``PLAYGROUND_ARTIFACTS``).
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(os.environ.get("PLAYGROUND_ARTIFACTS", Path(__file__).parent / "artifacts"))


def _require(ok: bool, why: str) -> None:
    if not ok:
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)


try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    _require(sync_playwright is not None, "playwright is not installed (pip install playwright)")
    _require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    import uvicorn

    from actlab.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not uv.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as p:
        # launch() gives the browser a fresh temporary profile (user-data-dir) of its own
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.set_default_timeout(20_000)
    yield page
    context.close()


def load(page, url):
    page.goto(url)
    page.wait_for_function("window.playground && window.playground.frame && document.body.dataset.synced === '1'")


def unexpected(page):
    """Console errors other than Chromium's log line for a refused request (422), which a test provokes."""
    return [p for p in page.problems if "status of 422" not in p]


def loss(page, which="#test-loss"):
    return float(page.inner_text(which))


def epoch(page):
    return int(page.inner_text("#epoch"))


def train(page, epochs):
    page.click("#play")
    page.wait_for_function(f"window.playground.frame?.epoch >= {epochs}", timeout=60_000)
    page.click("#play")
    page.wait_for_function("!window.playground.frame?.playing || document.querySelector('#play').textContent === '▶'")


def test_page_loads_without_console_errors(page, server):
    load(page, server)
    assert page.locator(".neuron").count() == 8 + 1  # 2 × 4 units and the output anchor
    assert page.locator("#datasets button").count() == 8
    assert page.locator("#links path").count() == 2 * 4 + 4 * 4 + 4
    assert page.problems == []


def test_play_lowers_test_loss_on_circle(page, server):
    load(page, server + "#dataset=circle&seed=3")
    before = loss(page)
    train(page, 40)
    after = loss(page)
    assert epoch(page) >= 40
    assert after < 0.6 * before, (before, after)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground_circle.png"), full_page=True)
    assert page.problems == []


def test_neuron_formula_and_inline_error(page, server):
    load(page, server)
    page.click("#neuron-0-1")
    page.fill("#unit-formula", "x*sigmoid(x")
    page.click("#unit-apply")
    page.wait_for_selector("#unit-error:not([hidden])")
    assert "syntax" in page.inner_text("#unit-error")
    page.fill("#unit-formula", "x*sigmoid(1.702*x)")
    page.click("#unit-apply")
    page.wait_for_function("window.playground.state.layers[0][1] === 'f:x*sigmoid(1.702*x)'")
    page.wait_for_selector("#neuron-0-1.custom")
    assert page.is_hidden("#unit-error")
    assert "sigmoid(1.702*x)" in page.inner_text("#act-props")
    page.click("#step")
    page.wait_for_function("window.playground.frame?.epoch === 1")
    assert unexpected(page) == []


def test_refused_state_rolls_back(page, server):
    load(page, server + "#layers=" + __import__("urllib.parse").parse.quote('[["tanh","tanh"]]'))
    page.evaluate("""() => { const s = window.playground.state; s.layers[0][0] = 'not_an_activation';
        document.querySelector('#add-layer').click(); }""")  # a change the page itself would never send
    page.wait_for_selector("#status-error:not([hidden])")
    assert "not_an_activation" in page.inner_text("#status-error")
    page.wait_for_function("window.playground.state.layers.length === 1 && window.playground.state.layers[0][0] === 'tanh'")
    assert "not_an_activation" not in page.url
    assert page.problems == []


def test_url_round_trips_state(page, server):
    load(page, server)
    page.click("#dataset-xor")
    page.wait_for_function("window.playground.state.dataset === 'xor'")
    page.click("#add-layer")
    page.wait_for_function("window.playground.state.layers.length === 3")
    page.click("#neuron-2-0")
    page.fill("#unit-formula", "sin(x)+x")
    page.click("#unit-apply")
    page.wait_for_function("window.playground.state.layers[2][0] === 'f:sin(x)+x'")
    page.check("#discretize")
    page.wait_for_function("window.playground.state.discretize === true && window.playground.state.layers.length === 3")
    url = page.url
    page.reload()
    page.wait_for_function("window.playground && window.playground.frame && document.body.dataset.synced === '1'")
    assert page.url == url
    state = page.evaluate("window.playground.state")
    assert state["dataset"] == "xor" and state["discretize"] is True
    assert state["layers"][2] == ["f:sin(x)+x", "tanh"]
    assert page.locator(".neuron").count() == 4 + 4 + 2 + 1
    assert page.is_checked("#discretize")
    assert page.problems == []


def test_csv_upload_and_refusal(page, server, tmp_path):
    load(page, server)
    good = tmp_path / "good.csv"
    good.write_text("x1,x2,label\n" + "\n".join(f"{(i % 20) / 10 - 1},{(i // 20) / 5 - 1},{int((i % 20) < 10)}" for i in range(200)))
    page.set_input_files("#csv-file", str(good))
    page.wait_for_function("window.playground.state.dataset === 'upload'")
    assert page.is_hidden("#upload-error")
    train(page, 10)
    assert loss(page) < 0.69
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n1,banana,1\n")
    page.set_input_files("#csv-file", str(bad))
    page.wait_for_selector("#upload-error:not([hidden])")
    assert re.search(r"row 3", page.inner_text("#upload-error"))
    assert unexpected(page) == []


def test_side_by_side_trains_two_nets(page, server):
    load(page, server + "#dataset=circle&seed=1")
    page.select_option("#compare", "relu")
    page.wait_for_function("window.playground.frame?.nets.length === 2")
    assert page.is_visible("#output2")
    train(page, 15)
    frame = page.evaluate("window.playground.frame")
    a, b = frame["nets"]
    assert a["test_loss"] != b["test_loss"]
    histories = page.evaluate("window.playground.histories")
    assert len(histories[0]) >= 15 and len(histories[1]) >= 15
    assert histories[1][-1][1] < histories[1][0][1]  # the second net learns too
    with page.expect_download() as download:  # the figure export: both boundaries and the loss chart
        page.click("#export-png")
    png = Path(download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 2 * 300 + 10
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground_side_by_side.png"), full_page=True)
    assert page.problems == []


def test_diverging_net_keeps_the_page_working(page, server):
    import json
    import urllib.parse

    fragment = urllib.parse.urlencode({"layers": json.dumps([["f:exp(x)*exp(x)"] * 2, ["tanh"] * 2]), "lr": 10})
    load(page, server + "#" + fragment)
    train(page, 10)
    assert page.inner_text("#test-loss") == "–"  # the loss is not finite: shown as a dash (null in the frame)
    assert page.problems == []
