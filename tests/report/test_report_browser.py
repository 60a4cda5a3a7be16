"""The report in a real headless browser (Chromium through Playwright) at 1000 and 1400 px: no table overflows.

Needs Playwright (the test extra) and a Chromium binary (Debian: ``apt-get install chromium``; another
path via ACTLAB_CHROMIUM).  Skipped locally when either is missing; under CI (CI set) it fails instead.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from actlab.report import write_report
from conftest import noisy

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")


def _chromium() -> str:
    path = os.environ.get("ACTLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        message = (f"Chromium not found at {path}: install it (Debian: apt-get install -y chromium) or set "
                   "ACTLAB_CHROMIUM; the report's browser test must run in CI")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "playwright is not installed (pip install -e '.[test]'); the report's browser test must run in CI"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return sync_playwright


_MEASURE = """() => {
  const doc = document.documentElement;
  const tables = Array.from(document.querySelectorAll('table')).map(t => {
    const box = t.getBoundingClientRect(), parent = t.parentElement.getBoundingClientRect();
    return {right: box.right, limit: parent.right, scroll: t.scrollWidth, client: t.clientWidth};
  });
  const cells = Array.from(document.querySelectorAll('td.interval')).map(td => {
    const r = document.createRange(); r.selectNodeContents(td);
    return r.getClientRects().length;  // 1: the interval is on one line
  });
  return {page: doc.scrollWidth, view: window.innerWidth, tables, cells};
}"""


def test_report_fits_1000_and_1400_px(tmp_path, store):
    sync_playwright = _sync_playwright()
    chromium = _chromium()
    accuracies = {a: noisy(0.95 - 0.004 * i, seeds=5, seed=i) for i, a in enumerate(ACTS)}
    accuracies["sigmoid"][1] = None  # a diverged run: the diverged table too
    run = store(tmp_path / "wide", accuracies, lrs=(1e-3, 3e-3, 1e-2), overfit=("tanh",), epochs=8)
    html = write_report(run, cost={a: 0.01 * (i + 1) for i, a in enumerate(ACTS)}, thumbnails=False)["html"]
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for width in (1000, 1400):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.on("request", lambda request: requests.append(request.url))
                page.goto(html.as_uri())
                m = page.evaluate(_MEASURE)
                shot = tmp_path / f"report-{width}.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
                assert m["page"] <= m["view"], f"page scrolls horizontally at {width} px"
                assert len(m["tables"]) >= 5
                for i, t in enumerate(m["tables"]):
                    assert t["right"] <= t["limit"] + 1, f"table {i} overflows at {width} px: {t}"
                    assert t["scroll"] <= t["client"] + 1, f"table {i} overflows at {width} px: {t}"
                assert m["cells"] and all(n == 1 for n in m["cells"]), f"an interval cell wraps at {width} px"
                page.close()
        finally:
            browser.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests  # self-contained: no network
