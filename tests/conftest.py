"""Shared test setup: references importable, user config in a temp dir, Agg plots."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "catalog"))  # references.py
os.environ.setdefault("MPLBACKEND", "Agg")
# a developer's saved formulas must not leak into the suite (set before actlab is imported)
os.environ["ACTLAB_CONFIG_DIR"] = tempfile.mkdtemp(prefix="actlab-test-config-")
os.environ["ACTLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="actlab-test-cache-")  # show/props/plot cache


# ------------------------------------------------------------------ browser tests (the playground, the report)
# Playwright for Python driving Debian's Chromium (Playwright cannot download browsers here).  Skipped locally when
# either is missing; under CI (CI set) a missing one is a failure, so the browser tests run there.
# A hung browser must never hang the suite: the tests carry a time limit (pytest-timeout, thread method: it
# ends even a process stuck outside Python, and under xdist the worker is replaced), every Playwright wait has a
# timeout, and a browser that died is relaunched before the next test uses it.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
WAIT_MS = 20_000  # the default for every Playwright wait and action
LAUNCH_MS = 60_000
BROWSER_TIMEOUT_S = 180  # one browser test, its fixtures included (pytest-timeout)


def require_browser(ok: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when the browser tests cannot run."""
    if not ok:
        if IN_CI:
            pytest.fail(f"the browser tests must run in CI: {why}")
        pytest.skip(why)


def chromium_path() -> str:
    import shutil

    path = os.environ.get("ACTLAB_CHROMIUM") or os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    require_browser(Path(path).is_file(), f"Chromium not found at {path} (Debian: apt-get install -y chromium; "
                                          "another path via ACTLAB_CHROMIUM)")
    return path


class Chromium:
    """One Playwright Chromium for a test module; :meth:`new_context` relaunches it if it died."""

    def __init__(self, playwright, path: str):
        self.playwright, self.path = playwright, path
        self.launches = 0
        self._browser = None

    @property
    def browser(self):
        if self._browser is None or not self._browser.is_connected():
            self._close()
            self._browser = self.playwright.chromium.launch(executable_path=self.path, args=CHROMIUM_ARGS, timeout=LAUNCH_MS)
            self.launches += 1
        return self._browser

    def new_context(self, **options):
        """A fresh context (own cookies and storage) whose every wait times out after WAIT_MS."""
        from playwright.sync_api import Error

        try:
            context = self.browser.new_context(**options)
        except Error:  # it died while idle (is_connected() only learns that from the next call): once more
            self._close()
            context = self.browser.new_context(**options)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        return context

    def _close(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None and browser.is_connected():
            try:
                browser.close()
            except Exception:  # it died meanwhile: nothing left to close
                pass


@pytest.fixture(scope="module")
def chromium(request):
    """The module's :class:`Chromium` (one browser per module and xdist worker)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require_browser(sync_playwright is not None, "playwright is not installed (pip install -e '.[test]')")
    require_browser(request.config.pluginmanager.hasplugin("timeout"),
                    "pytest-timeout is not installed (pip install -e '.[test]'): a hung browser would hang the suite")
    path = chromium_path()
    with sync_playwright() as playwright:
        handle = Chromium(playwright, path)
        try:
            yield handle
        finally:
            handle._close()


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("timeout"):  # pytest-timeout (the test extra) missing: still collect
        config.addinivalue_line("markers", "timeout(seconds, method): pytest-timeout's per-test limit")


def pytest_collection_modifyitems(config, items):
    """Every test that uses the browser gets the browser time limit (unless it sets its own)."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BROWSER_TIMEOUT_S, method="thread"))
