"""Figures: structure of plot_activations / plot_gallery, colours, and the ``actlab plot`` command."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import actlab
from actlab.analysis.plots import color_for, plot_activations, plot_gallery
from actlab.cli import main


def _lines(ax, prefix):
    return [line for line in ax.get_lines() if (line.get_gid() or "").startswith(prefix)]


def test_plot_activations_two_panels_one_line_each():
    names = ["relu", "sigmoid", "gelu"]
    figure = plot_activations(names, x_range=(-4, 4))
    assert isinstance(figure, Figure)
    ax_f, ax_d = figure.axes
    assert [line.get_gid() for line in _lines(ax_f, "f:")] == [f"f:{n}" for n in names]
    assert [line.get_gid() for line in _lines(ax_d, "df:")] == [f"df:{n}" for n in names]
    assert ax_f.get_xlim() == (-4.0, 4.0)
    legend_texts = [t.get_text() for t in figure.legends[0].get_texts()]
    assert all(n in legend_texts for n in names)


def test_kinks_are_marked():
    figure = plot_activations(["relu6", "tanh"])
    ax_f, ax_d = figure.axes
    kinks = _lines(ax_f, "kinks:")
    assert [line.get_gid() for line in kinks] == ["kinks:relu6"]
    assert list(kinks[0].get_xdata()) == [0.0, 6.0] or list(kinks[0].get_xdata()) == [0.0]  # 6 is the range edge
    assert _lines(ax_d, "kinks:")


def test_discontinuity_is_not_bridged():
    figure = plot_activations(["binary_step"])
    line = _lines(figure.axes[0], "f:")[0]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.isnan(y).any()  # a break at the jump, no vertical connector


def test_saturation_is_shaded():
    figure = plot_activations(["sigmoid"], x_range=(-8, 8))
    patches = [p for p in figure.axes[0].patches if (p.get_gid() or "").startswith("saturation:")]
    assert len(patches) == 2


def test_colors_are_stable_and_distinct():
    assert color_for("relu") == color_for("relu")
    assert color_for("relu") != color_for("gelu")
    assert color_for("x**2 + 1") == color_for("x**2 + 1")  # hash fallback is deterministic
    assert color_for("x**2 + 1").startswith("#")


@pytest.mark.slow
def test_gallery_has_one_panel_per_spec():
    specs = actlab.all_specs()
    figure = plot_gallery(specs)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == len(specs)
    assert [ax.get_title() for ax in visible] == [s.name for s in specs]
    for ax, _spec in zip(visible, specs):
        assert len(_lines(ax, "f:")) == 1 and _lines(ax, "df:")[0].get_linestyle() == "--"


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_cli_writes_image(tmp_path, capsys, suffix, magic):
    out = tmp_path / f"plot{suffix}"
    assert main(["plot", "relu", "tanh", "-o", str(out), "--range=-6,6"]) == 0
    assert out.read_bytes().startswith(magic)
    assert str(out) in capsys.readouterr().out


def test_cli_default_output_and_params(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", "leaky_relu", "--param", "alpha=0.2", "--range", "-3,3"]) == 0
    assert (tmp_path / "actlab-plot.png").exists()


@pytest.mark.slow
def test_cli_gallery(tmp_path):
    out = tmp_path / "gallery.png"
    assert main(["plot", "--all", "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize(
    "args",
    [
        ["plot", "relu", "--range=3,1"],
        ["plot", "relu", "--range=a,b"],
        ["plot", "relu", "--range=1"],
        ["plot", "relu", "-o", "out.jpg"],
        ["plot"],
        ["plot", "no_such_activation"],
        ["plot", "relu", "--all"],
    ],
    ids=["min>=max", "not-numbers", "one-number", "bad-extension", "nothing", "unknown-name", "names-and-all"],
)
def test_cli_plot_errors(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
