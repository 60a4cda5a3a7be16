"""The figures of the guides and tutorials that need training: ``make docs-figures`` (``python -m
actlab.docsgen.figures [NAME ...]``) runs the command behind each and writes ``docs/figures/NAME.png``.

They take minutes each on a 2-core CPU, so their outputs are committed and the site build only checks that
every one exists; the cheap figures are drawn at build time (:func:`actlab.docsgen.site.build_figures`).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Figure", "FIGURES", "main"]


@dataclass(frozen=True)
class Figure:
    """One committed figure: the ``actlab`` arguments that draw it and which output file is the figure."""

    name: str  # docs/figures/<name>.png
    args: tuple[str, ...]  # after `actlab`; "{out}" is a fresh output folder, "{png}" the figure's path
    produced: str = "{png}"  # the file the command writes that becomes the figure
    what: str = ""
    screenshot: bool = False  # the figure is headless Chromium's view of ``produced`` (an HTML page), 1000 px wide
    anchor: str = ""  # the screenshot starts at this element id of the page


FIGURES: tuple[Figure, ...] = (
    Figure("boundary_circle", ("boundary", "--dataset", "circle", "--act", "square", "--act", "relu", "--hidden", "2",
                               "--no-bias", "--seeds", "5", "-o", "{png}"),
           what="two squared units draw an ellipse; two ReLUs a band"),
    Figure("boundary_periodic", ("boundary", "--dataset", "periodic", "--act", "cos,identity", "--act",
                                 "relu,identity", "--hidden", "2", "--no-bias", "-o", "{png}"),
           what="a cos unit extrapolates a periodic boundary; ReLU pieces continue as lines"),
    Figure("diagnose_nielsen", ("diagnose", "--preset", "nielsen", "-o", "{out}"), "{out}/speed.png",
           what="speed of learning per layer, sigmoid MLP on MNIST"),
    Figure("diagnose_exploding", ("diagnose", "--preset", "exploding", "-o", "{out}"), "{out}/exploding.png",
           what="the gradient of a chain of one-unit layers with w = 100"),
    Figure("diagnose_dying_relu", ("diagnose", "--preset", "dying-relu", "-o", "{out}"), "{out}/dead_saturated.png",
           what="dead and saturated units at a high learning rate"),
    Figure("diagnose_compare_acts", ("diagnose", "--compare-acts", "sigmoid,tanh,relu,selu,gelu", "--epochs", "1",
                                     "--subset", "10000", "-o", "{out}"), "{out}/speed_by_activation.png",
           what="speed at initialisation per layer and activation"),
    Figure("selfnorm_depth", ("selfnorm", "--depth-experiment", "--acts", "selu,relu,tanh,gelu", "--depth", "64",
                              "--width", "256", "-o", "{png}"),
           what="per-layer mean and variance through 64 layers"),
    Figure("report_moons", ("compare", "--dataset", "moons", "--acts", "relu,tanh,gelu,sigmoid", "--seeds", "3",
                            "--epochs", "30", "--out", "{out}", "--quiet"), "{out}/figures/curves.png",
           what="the report's learning curves of a 2-D comparison"),
    Figure("report", ("compare", "--dataset", "moons", "--acts", "relu,tanh,gelu,sigmoid", "--seeds", "3",
                      "--epochs", "30", "--out", "{out}", "--quiet"), "{out}/report.html",
           what="the top of the report: the decision, the ranking, effect sizes", screenshot=True),
    Figure("tune_report", ("tune", "--acts", "relu,tanh", "--dataset", "digits", "--trials", "6", "--epochs", "5",
                           "--seeds", "2", "--out", "{out}", "--quiet"), "{out}/report.html",
           what="the tuned-settings section of a tune report", screenshot=True, anchor="tuning"),
)

CHROMIUM = "/usr/bin/chromium"


def _screenshot(page: Path, target: Path, width: int = 1000, height: int = 900, anchor: str = "") -> None:
    """Headless Chromium's view of the top of ``page`` (Playwright driving the system's Chromium)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            view = browser.new_page(viewport={"width": width, "height": height})
            view.goto(page.resolve().as_uri() + (f"#{anchor}" if anchor else ""))
            view.screenshot(path=str(target))
        finally:
            browser.close()


# the README's two screenshots of the built site: (file in docs/screenshots, page, viewport height)
SITE_SCREENSHOTS = (("catalog", "catalog/", 820), ("gelu", "catalog/gelu/", 820))


def site_screenshots(site: Path, destination: Path, width: int = 1200) -> list[Path]:
    """Screenshots of the built site (served over local HTTP, as a browser sees it) for the README."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                for name, path, height in SITE_SCREENSHOTS:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(f"http://127.0.0.1:{server.server_address[1]}/{path}", wait_until="networkidle")
                    page.wait_for_timeout(500)  # MathJax typesets after load
                    target = destination / f"{name}.png"
                    page.screenshot(path=str(target))
                    written.append(target)
            finally:
                browser.close()
    finally:
        server.shutdown()
    return written


def render(figure: Figure, destination: Path) -> Path:
    """Run the command behind ``figure`` and copy its output to ``destination/<name>.png``."""
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / f"{figure.name}.png"
    with tempfile.TemporaryDirectory(prefix=f"actlab-{figure.name}-") as scratch:
        out = Path(scratch) / "out"
        png = Path(scratch) / f"{figure.name}.png"
        args = [a.format(out=out, png=png) for a in figure.args]
        subprocess.run([sys.executable, "-m", "actlab.cli", *args], check=True)
        produced = Path(figure.produced.format(out=out, png=png))
        if figure.screenshot:
            _screenshot(produced, target, anchor=figure.anchor)
        else:
            shutil.copyfile(produced, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="figures to draw (default: all): " + ", ".join(f.name for f in FIGURES))
    parser.add_argument("--out", default="docs/figures", help="folder of the committed figures")
    parser.add_argument("--site", help="a built site (make docs): take the README's screenshots of it instead")
    parser.add_argument("--screenshots", default="docs/screenshots", help="where the site's screenshots go")
    options = parser.parse_args(argv)
    if options.site:
        for path in site_screenshots(Path(options.site), Path(options.screenshots)):
            print(f"  → {path}", flush=True)
        return 0
    known = {f.name: f for f in FIGURES}
    unknown = [n for n in options.names if n not in known]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for name in options.names or list(known):
        print(f"drawing {name}: actlab {' '.join(known[name].args)}", flush=True)
        print(f"  → {render(known[name], Path(options.out))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
