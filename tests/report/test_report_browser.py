"""The report in a real headless browser (Chromium through Playwright) at 1000 and 1400 px: no table overflows.

The browser comes from the shared ``chromium`` fixture (tests/conftest.py): Playwright (the test extra) and a
Chromium binary (Debian: ``apt-get install chromium``; another path via ACTLAB_CHROMIUM); skipped locally when
either is missing, a failure under CI (CI set). Every wait has a timeout and the test a time limit.
"""
from __future__ import annotations

import pytest

from actlab.report import write_report
from conftest import noisy

ACTS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish")
WAIT = 30_000  # ms

# thread method: ends even a browser call that never returns; under xdist the worker is replaced
pytestmark = pytest.mark.timeout(180, method="thread")


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


def test_report_fits_1000_and_1400_px(tmp_path, store, chromium):
    accuracies = {a: noisy(0.95 - 0.004 * i, seeds=5, seed=i) for i, a in enumerate(ACTS)}
    accuracies["sigmoid"][1] = None  # a diverged run: the diverged table too
    run = store(tmp_path / "wide", accuracies, lrs=(1e-3, 3e-3, 1e-2), overfit=("tanh",), epochs=8)
    html = write_report(run, cost={a: 0.01 * (i + 1) for i, a in enumerate(ACTS)}, thumbnails=False)["html"]
    requests: list[str] = []
    for width in (1000, 1400):
        context = chromium.new_context(viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(html.as_uri(), timeout=WAIT, wait_until="load")
            m = page.evaluate(_MEASURE)
            shot = tmp_path / f"report-{width}.png"
            page.screenshot(path=str(shot), timeout=WAIT)
            assert shot.stat().st_size > 10_000
            assert m["page"] <= m["view"], f"page scrolls horizontally at {width} px"
            assert len(m["tables"]) >= 5
            for i, t in enumerate(m["tables"]):
                assert t["right"] <= t["limit"] + 1, f"table {i} overflows at {width} px: {t}"
                assert t["scroll"] <= t["client"] + 1, f"table {i} overflows at {width} px: {t}"
            assert m["cells"] and all(n == 1 for n in m["cells"]), f"an interval cell wraps at {width} px"
        finally:
            context.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests  # self-contained: no network
