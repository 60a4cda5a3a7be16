"""Generate every page and figure of the site that is derived from code: :func:`generate`."""
from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Writer", "generate", "build_figures", "recommend_page_block", "RECOMMEND_MARKER"]

# where the tutorial "Which activation should I use?" receives actlab recommend's answers
RECOMMEND_MARKER = "<!-- recommend -->"


class Writer(Protocol):
    """Where generated files go: ``write("catalog/relu.md", text_or_bytes)`` (paths relative to the docs root)."""

    def __call__(self, path: str, content: str | bytes) -> None: ...


def _png(figure: Any, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def build_figures(write: Writer) -> list[str]:
    """The cheap figures the guides and tutorials show, drawn by the library functions the commands call.

    Returns the paths written. (Figures that need training live in ``docs/figures/``: ``make docs-figures``.)
    """
    from actlab import data
    from actlab.analysis.plots import plot_activations
    from actlab.analysis.selfnorm import fixed_point
    from actlab.analysis.selfnorm_figures import plot_map
    from actlab.data.preview import preview

    figures: dict[str, Callable[[], Any]] = {
        # guides/plot: `actlab plot relu gelu silu elu tanh sigmoid`
        "img/plot_six.png": lambda: plot_activations(["relu", "gelu", "silu", "elu", "tanh", "sigmoid"]),
        # guides/formulas: a formula next to the record it approximates
        "img/formula_vs_gelu.png": lambda: plot_activations(["gelu", "x*sigmoid(1.702*x)"]),
        # guides/data: `actlab data show circle -O n=500 -O noise=0.05 -o circle.png`
        "img/data_circle.png": lambda: preview(data.load("circle", n=500, noise=0.05)),
        # tutorials: what a unit can bend (polynomial, rectifier, periodic)
        "img/capacity.png": lambda: plot_activations(["square", "relu", "cos"]),
        # tutorials: the derivatives behind vanishing gradients
        "img/derivatives.png": lambda: plot_activations(["sigmoid", "tanh", "relu"]),
        # tutorials/selfnorm: `actlab selfnorm selu -o map.png`
        "img/selfnorm_selu.png": lambda: plot_map("selu", fixed_point("selu")),
    }
    written = []
    for path, draw in figures.items():
        write(path, _png(draw()))
        written.append(path)
    return written


def recommend_page_block() -> str:
    """``actlab recommend`` for three situations, run at build time, as Markdown tables."""
    from actlab.report.recommend import recommend

    situations = (
        ("a shallow classifier (depth 2, no normalisation)", {"depth": 2}),
        ("a deep net without normalisation (depth 16)", {"depth": 16}),
        ("a deep net with batch normalisation, on a budget", {"depth": 16, "normalization": "batch",
                                                                "budget": "fast"}),
    )
    lines = []
    for title, options in situations:
        flags = " ".join(f"--{k} {v}" for k, v in options.items())
        result = recommend(**options)
        lines += [f"**{title}** — `actlab recommend {flags}`:", "", "| rank | activation | why |", "|---|---|---|"]
        for rank, item in enumerate(result["recommendations"], start=1):
            reasons = "; ".join(item["reasons"]).replace("|", "/")
            lines.append(f"| {rank} | [{item['activation']}](../catalog/{item['activation']}.md) | {reasons} |")
        lines += ["", f"Next: {result.get('next', '')}", ""]
    return "\n".join(lines)


def generate(write: Writer, *, docs_dir: Path, repo_root: Path, cli_group: Any = None,
             run_cli: Callable[[Sequence[str]], str] | None = None, log: Callable[[str], None] = lambda _: None
             ) -> None:
    """Write every generated page and figure.

    ``cli_group``: the Click group of the ``actlab`` command (for the CLI reference); ``run_cli(args) -> stdout``
    runs one command (for the JSON outputs page). Both come from the caller because the CLI is a higher layer.
    """
    import actlab
    from actlab.analysis import properties
    from actlab.catalog import BUILTIN
    from actlab.docsgen.catalog import activation_page, index_page, plot_png
    from actlab.docsgen.cli_reference import cli_page, walk_commands
    from actlab.docsgen.export import EXPORT_MARKER, export_table, notebook_svg
    from actlab.docsgen.reference import (
        benchmarks_page,
        json_page,
        load_benchmarks,
        measured_rows,
        properties_page,
        schema_page,
    )
    from actlab.sweep.options import OPTIONS

    started = time.perf_counter()
    specs = sorted(BUILTIN, key=lambda s: s.name)
    benchmarks = load_benchmarks(docs_dir / "benchmarks")
    measured = measured_rows(benchmarks)
    table = {}
    for spec in specs:
        props = properties(spec, measure_cost=False).to_dict()
        table[spec.name] = props
        write(f"catalog/{spec.name}.md", activation_page(spec, props, measured.get(spec.name, ())))
        write(f"catalog/img/{spec.name}.png", plot_png(spec))
    write("catalog/index.md", index_page(specs, table))
    log(f"catalog: {len(specs)} pages in {time.perf_counter() - started:.1f} s")

    for path in build_figures(write):
        log(f"figure {path}")
    tutorial = (docs_dir / "tutorials" / "which-activation.md").read_text(encoding="utf-8")
    if RECOMMEND_MARKER not in tutorial:
        raise ValueError(f"docs/tutorials/which-activation.md lost its {RECOMMEND_MARKER} marker")
    write("tutorials/which-activation.md", tutorial.replace(RECOMMEND_MARKER, recommend_page_block()))
    guide = (docs_dir / "guides" / "export.md").read_text(encoding="utf-8")
    if EXPORT_MARKER not in guide:
        raise ValueError(f"docs/guides/export.md lost its {EXPORT_MARKER} marker")
    write("guides/export.md", guide.replace(EXPORT_MARKER, export_table(specs)))
    write("img/notebook_quick_gelu.svg", notebook_svg("quick_gelu"))
    write("reference/properties.md", properties_page())
    write("reference/store.md", schema_page())
    write("benchmarks.md", benchmarks_page(benchmarks))
    if cli_group is not None:
        write("reference/cli.md", cli_page(cli_group, OPTIONS))
        if run_cli is not None:
            with_json = [path for path, command in walk_commands(cli_group)
                         if any("--json" in getattr(p, "opts", ()) for p in command.params)]
            write("reference/json.md", json_page(with_json, run_cli))
    changelog = repo_root / "CHANGELOG.md"
    write("changelog.md", changelog.read_text(encoding="utf-8"))
    write("assets/mathjax/tex-svg.js", mathjax_script())
    log(f"generated pages for actlab {actlab.__version__} in {time.perf_counter() - started:.1f} s")


def mathjax_script() -> bytes:
    """MathJax 3's single-file TeX → SVG renderer, from the installed ``django-static-mathjax`` wheel (no CDN)."""
    import importlib.util

    found = importlib.util.find_spec("mathjax")
    if found is None or not found.submodule_search_locations:
        raise RuntimeError("MathJax is not installed: pip install -e '.[docs]' (it ships in django-static-mathjax)")
    path = Path(next(iter(found.submodule_search_locations))) / "static" / "mathjax" / "es5" / "tex-svg.js"
    if not path.is_file():
        raise RuntimeError(f"MathJax's tex-svg.js not found at {path}")
    return path.read_bytes()

