"""The playground in a real browser: Playwright driving Debian's Chromium.

The browser comes from the ``chromium`` fixture (tests/conftest.py): skipped only
when Chromium or Playwright is missing *and* ``CI`` is not set; in CI (``CI=true``)
a missing browser is a failure; a browser that died is relaunched; every wait has
a timeout and every test a time limit, so a hung browser cannot hang the suite.
The screenshot of the trained page is saved under ``tests/web/artifacts/``
(override with ``PLAYGROUND_ARTIFACTS``).
"""
from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("PLAYGROUND_ARTIFACTS", Path(__file__).parent / "artifacts"))
WAIT = 30_000  # ms: the longest a step of a test waits for the page
TRAIN_WAIT = 90_000  # ms: training to an epoch count on a loaded machine

# thread method: ends even a test stuck outside Python (a browser call that never returns); under xdist the
# worker is replaced and the other tests go on
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180, method="thread")]


# The server runs in a process of its own, never in the test process: building a formula unit forks a SymPy
# worker (actlab.formula.budget), and a fork of the test process would inherit Playwright's pipe to its driver;
# the driver then never sees EOF and closing Playwright waits for it forever (the CI hang: driver alive, Chromium
# gone).  The server reads its stdin, which the test process holds: when the test process ends, however it ends,
# the server ends too.
SERVER = """
import os, sys, threading
import uvicorn
from actlab.web.app import create_app
from actlab.web.limits import Limits
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
# a generous formula deadline: these tests are about the page, not about how fast a loaded machine builds formulas
uvicorn.run(create_app(Limits(formula_deadline_s=30.0)), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):  # (the browser first: without one, the test is skipped before a server starts)
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("playground-server") / "server.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE, stdout=out,
                                   stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "api/limits", timeout=5) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert process.poll() is None, f"the server exited: {log.read_text()}"
                assert time.monotonic() < deadline, f"the server did not start in 90 s: {log.read_text()}"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()  # uvicorn shuts down cleanly on SIGTERM
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        process.stdin.close()


@pytest.fixture
def page(chromium, server):
    # a fresh context per test; the browser (a fresh temporary profile) is relaunched here if it died
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.set_default_timeout(WAIT)
    page.set_default_navigation_timeout(WAIT)
    yield page
    context.close()


SYNCED = "window.playground && window.playground.frame && document.body.dataset.synced === '1'"


def wait(page, condition, timeout=WAIT):
    """Wait for a JS condition; on timeout, fail with what the page shows (its errors and state)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, timeout=timeout)
    except PlaywrightTimeout:
        shown = page.evaluate("""() => ({errors: [...document.querySelectorAll('.error:not([hidden])')].map(e => e.id + ': ' + e.textContent),
            state: window.playground?.state, pending: window.playground?.pending, epoch: window.playground?.frame?.epoch})""")
        pytest.fail(f"timed out after {timeout} ms waiting for {condition}; the page shows {shown}; console: {page.problems}")


def load(page, url):
    page.goto(url)
    wait(page, SYNCED)


def unexpected(page):
    """Console errors other than Chromium's log line for a refused request (422), which a test provokes."""
    return [p for p in page.problems if "status of 422" not in p]


def loss(page, which="#test-loss"):
    return float(page.inner_text(which))


def epoch(page):
    return int(page.inner_text("#epoch"))


def train(page, epochs):
    page.click("#play")
    wait(page, f"window.playground.frame?.epoch >= {epochs}", timeout=TRAIN_WAIT)
    page.click("#play")
    wait(page, "!window.playground.frame?.playing || document.querySelector('#play').getAttribute('aria-label') === 'play'")


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
    page.wait_for_selector("#unit-error:not([hidden])", timeout=WAIT)
    assert "syntax" in page.inner_text("#unit-error")
    page.fill("#unit-formula", "x*sigmoid(1.702*x)")
    page.click("#unit-apply")
    wait(page, "window.playground.state.layers[0][1] === 'f:x*sigmoid(1.702*x)'")
    page.wait_for_selector("#neuron-0-1.custom", timeout=WAIT)
    assert page.is_hidden("#unit-error")
    assert "sigmoid(1.702*x)" in page.inner_text("#act-props")
    page.click("#step")
    wait(page, "window.playground.frame?.epoch === 1")
    assert unexpected(page) == []


def test_refused_state_rolls_back(page, server):
    load(page, server + "#layers=" + __import__("urllib.parse").parse.quote('[["tanh","tanh"]]'))
    page.evaluate("""() => { const s = window.playground.state; s.layers[0][0] = 'not_an_activation';
        document.querySelector('#add-layer').click(); }""")  # a change the page itself would never send
    page.wait_for_selector("#status-error:not([hidden])", timeout=WAIT)
    assert "not_an_activation" in page.inner_text("#status-error")
    wait(page, "window.playground.state.layers.length === 1 && window.playground.state.layers[0][0] === 'tanh'")
    assert "not_an_activation" not in page.url
    assert page.problems == []


def test_url_round_trips_state(page, server):
    load(page, server)
    page.click("#dataset-xor")
    wait(page, "window.playground.state.dataset === 'xor'")
    page.select_option("#lr", "0.1")
    page.click("#add-layer")
    wait(page, "window.playground.state.layers.length === 3")
    page.click("#neuron-2-0")
    page.fill("#unit-formula", "sin(x)+x")
    page.click("#unit-apply")
    wait(page, "window.playground.state.layers[2][0] === 'f:sin(x)+x'")
    page.check("#discretize")
    wait(page, SYNCED)
    url = page.url
    page.reload(timeout=WAIT)
    wait(page, SYNCED)
    assert page.url == url
    state = page.evaluate("window.playground.state")
    assert state["dataset"] == "xor" and state["lr"] == 0.1 and state["discretize"] is True
    assert state["layers"][2] == ["f:sin(x)+x", "tanh"]
    assert page.evaluate("window.playground.accepted")["lr"] == 0.1  # what the server runs, not only the page
    assert page.locator(".neuron").count() == 4 + 4 + 2 + 1
    assert page.input_value("#lr") == "0.1" and page.is_checked("#discretize")
    assert page.problems == []


# The learning rate changed right before a burst of other changes, each sent before the server answered the one
# before: the answer to an older state (new data for the data-set change) must not undo the newer changes.
BURST = """async () => {
  const $ = id => document.getElementById(id);
  const pick = (id, value) => { $(id).value = value; $(id).dispatchEvent(new Event('change')); };
  $('dataset-xor').click();
  pick('lr', '0.1');
  if (WAIT_FOR_DATA) {  // the stale answer (xor's data, lr 0.03) lands between the lr change and the rest
    const t0 = performance.now();
    while (window.playground.data?.name !== 'xor' && performance.now() - t0 < 20000) await new Promise(r => setTimeout(r, 5));
  }
  $('add-layer').click();
  document.querySelector('#feature-x1x2').click();
  pick('batch', '20');
  document.querySelector('#neuron-0-2').click();
  $('unit-formula').value = 'x*tanh(x)';
  $('unit-apply').click();
}"""


@pytest.mark.parametrize("stale_data_between", [False, True], ids=["burst", "stale-data-between"])
def test_changes_in_a_burst_all_survive(page, server, stale_data_between):
    load(page, server)
    page.evaluate(BURST.replace("WAIT_FOR_DATA", "true" if stale_data_between else "false"))
    wait(page, "window.playground.state.layers[0][2] === 'f:x*tanh(x)'")
    wait(page, SYNCED + " && window.playground.data.name === 'xor' && window.playground.frame.nets[0].weights.length === 4",
                           timeout=WAIT)
    expected = {"dataset": "xor", "lr": 0.1, "batch": 20, "features": ["x1", "x2", "x1x2"],
                "layers": [["tanh", "tanh", "f:x*tanh(x)", "tanh"], ["tanh"] * 4, ["tanh", "tanh"]]}
    for name, view in [("page", "window.playground.state"), ("server", "window.playground.accepted")]:
        state = page.evaluate(view)
        assert {k: state[k] for k in expected} == expected, name
    assert "lr=0.1" in page.url and page.input_value("#lr") == "0.1"
    assert page.problems == []


def test_a_refused_field_is_undone_alone(page, server):
    load(page, server)
    # a change the page would never send (noise out of range) with two good ones on top of it
    page.evaluate("""() => { const s = window.playground.state; s.noise = 99;
        const lr = document.getElementById('lr'); lr.value = '0.3'; lr.dispatchEvent(new Event('change'));
        document.getElementById('add-layer').click(); }""")
    page.wait_for_selector("#status-error:not([hidden])", timeout=WAIT)
    assert "noise" in page.inner_text("#status-error")
    wait(page, SYNCED + " && window.playground.accepted.layers.length === 3")
    for view in ("window.playground.state", "window.playground.accepted"):
        state = page.evaluate(view)
        assert state["noise"] == 0 and state["lr"] == 0.3 and len(state["layers"]) == 3, (view, state)
    assert page.is_visible("#status-error")  # the refusal stays on screen
    assert page.problems == []


def test_a_link_pasted_into_the_open_tab_is_adopted(page, server):
    load(page, server)
    # only the fragment changes: no reload, the page follows the link (compare as a bare name, as people type it)
    page.evaluate("location.hash = 'dataset=xor&lr=0.3&compare=relu'")
    wait(page, SYNCED + " && window.playground.accepted.dataset === 'xor' && window.playground.accepted.lr === 0.3"
         " && window.playground.frame.nets.length === 2")
    assert page.input_value("#lr") == "0.3" and page.input_value("#compare") == "relu"
    assert page.problems == []


def test_csv_upload_and_refusal(page, server, tmp_path):
    load(page, server)
    good = tmp_path / "good.csv"
    good.write_text("x1,x2,label\n" + "\n".join(f"{(i % 20) / 10 - 1},{(i // 20) / 5 - 1},{int((i % 20) < 10)}" for i in range(200)))
    page.set_input_files("#csv-file", str(good))
    wait(page, "window.playground.state.dataset === 'upload'")
    assert page.is_hidden("#upload-error")
    train(page, 10)
    assert loss(page) < 0.69
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n1,2,0\n1,banana,1\n")
    page.set_input_files("#csv-file", str(bad))
    page.wait_for_selector("#upload-error:not([hidden])", timeout=WAIT)
    assert re.search(r"row 3", page.inner_text("#upload-error"))
    assert unexpected(page) == []


def test_side_by_side_trains_two_nets(page, server):
    load(page, server + "#dataset=circle&seed=1")
    page.select_option("#compare", "relu")
    wait(page, "window.playground.frame?.nets.length === 2")
    assert page.is_visible("#output2")
    train(page, 15)
    frame = page.evaluate("window.playground.frame")
    a, b = frame["nets"]
    assert a["test_loss"] != b["test_loss"]
    histories = page.evaluate("window.playground.histories")
    assert len(histories[0]) >= 15 and len(histories[1]) >= 15
    assert histories[1][-1][1] < histories[1][0][1]  # the second net learns too
    with page.expect_download(timeout=WAIT) as download:  # the figure export: both boundaries and the loss chart
        page.click("#export-png")
    png = Path(download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 2 * 300 + 10
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground_side_by_side.png"), full_page=True)
    assert page.problems == []


def test_diverging_net_keeps_the_page_working(page, server):
    import json
    import urllib.parse

    # two layers of exp(2x) at lr 10 overflow whatever the initial draw (8 of 8 seeds measured), not by luck
    fragment = urllib.parse.urlencode({"layers": json.dumps([["f:exp(x)*exp(x)"] * 2] * 2), "lr": 10})
    load(page, server + "#" + fragment)
    train(page, 10)
    assert page.inner_text("#test-loss") == "–"  # the loss is not finite: shown as a dash (null in the frame)
    assert page.problems == []


def test_a_dead_browser_is_relaunched(chromium, server):
    import signal

    before = chromium.launches
    browser = chromium.browser
    # kill Chromium the hard way (as a crash or the OOM killer would): its main process is the one started with
    # our executable whose parent is Playwright's driver
    ours = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent_is_driver(int(pid))]
    for pid in ours:
        os.kill(pid, signal.SIGKILL)
    assert ours or not os.path.isdir("/proc"), "no Chromium process under our Playwright driver"
    if not ours:  # no /proc: a browser that went away all the same
        browser.close()
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(server, timeout=WAIT)
        wait(page, SYNCED)
    finally:
        context.close()
    assert chromium.launches == before + 1 and not browser.is_connected() and chromium.browser is not browser


def _parent_is_driver(pid: int) -> bool:
    """``pid``'s parent is a Playwright driver started by this test process."""
    try:
        parent = _parent(pid)
        with open(f"/proc/{parent}/cmdline", "rb") as cmdline:
            return b"run-driver" in cmdline.read() and _parent(parent) == os.getpid()
    except (OSError, ValueError, IndexError):
        return False


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().split(")")[-1].split()[1])


ATTACK = """<!doctype html><meta charset="utf-8"><title>another site</title><script>
const target = '%s', result = {ws: 'pending', hello: false, reads: {}, posts: {}};
window.result = result;
const ws = new WebSocket(target.replace('http', 'ws') + 'ws');
ws.onopen = () => { result.ws = 'open'; };
ws.onmessage = e => { if (e.data.includes('hello')) result.hello = true; };
ws.onerror = () => { if (result.ws === 'pending') result.ws = 'refused'; };
ws.onclose = () => { if (result.ws === 'pending') result.ws = 'refused'; };
for (const path of ['api/limits', 'api/activations']) {
  fetch(target + path).then(r => r.text()).then(t => { result.reads[path] = t.slice(0, 40); },
                                                 e => { result.reads[path] = 'failed'; });
}
// a "simple" cross-site POST (no preflight): the server must refuse it, not run it
fetch(target + 'api/formula', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'},
  body: JSON.stringify({formula: 'x'})}).then(r => { result.posts.formula = r.type; }, e => { result.posts.formula = 'failed'; });
</script>"""


def test_a_page_from_another_origin_cannot_use_the_playground(chromium, server, tmp_path):
    """A page served on another port of 127.0.0.1 (another origin) cannot open a WebSocket or read the API; the
    playground's own page, opened next in the same browser, still works."""
    import http.server
    import threading

    (tmp_path / "index.html").write_text(ATTACK % server)
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path))  # noqa: E731
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT)
        refused = []
        page.on("websocket", lambda ws: refused.append(ws.url))
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/index.html")
        page.wait_for_function("window.result.ws !== 'pending' && Object.keys(window.result.reads).length === 2 "
                               "&& window.result.posts.formula", timeout=WAIT)
        result = page.evaluate("window.result")
        assert result["ws"] == "refused" and not result["hello"], result
        assert set(result["reads"].values()) == {"failed"}, result
        page.close()
        own = context.new_page()
        own.set_default_timeout(WAIT)
        own.goto(server)
        wait(own, SYNCED)  # the server's own page connects, gets its session and data
        own.click("#step")
        wait(own, "window.playground.frame?.epoch === 1")
    finally:
        context.close()
        other.shutdown()
        other.server_close()
