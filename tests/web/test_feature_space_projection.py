"""The playground's feature-space panel with more than 3 units, and icons that need no special font."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from actlab.web.panels import feature_space

STATIC = Path(__file__).resolve().parents[2] / "src" / "actlab" / "web" / "static"


def test_a_four_unit_last_layer_is_projected_onto_the_output_and_its_largest_perpendicular_spread():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    x = torch.randn(50, 2, dtype=torch.float64)
    space = feature_space(net, x, 1)
    assert space is not None and space["dims"] == 2 and space["units"] == 4 and space["plane"] == {"w": [1.0, 0.0],
                                                                                                   "b": 0.0}
    across = torch.tensor([p[0] for p in space["points"]], dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(across, net(x).view(-1), atol=1e-4)  # the output itself: its boundary is across = 0
        h = net[3](net[2](net[1](net[0](x))))
    import numpy as np

    hn, wn = h.numpy(), net[-1].weight.detach().view(-1).numpy()
    unit = wn / np.linalg.norm(wn)
    rest = hn - np.outer(hn @ unit, unit)
    rest -= rest.mean(axis=0)
    top = np.linalg.svd(rest)[2][0]  # float64 NumPy: the direction of largest spread, ⟂ w
    assert abs(top @ unit) < 1e-9
    up = np.array([p[1] for p in space["points"]])
    assert np.allclose(np.abs(up), np.abs(rest @ top), atol=1e-4)
    assert feature_space(net, x, 0) is None  # an earlier 4-unit layer has no boundary to project on


def test_the_play_and_pause_icons_are_drawn_not_font_glyphs():
    text = (STATIC / "index.html").read_text() + (STATIC / "js" / "main.js").read_text()
    assert "⏸" not in text and "<svg" in text
