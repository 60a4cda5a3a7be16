"""The worked example through the Python API, cell by cell (paste the cells into a notebook, or run the file).

    python examples/resnet_tiny_notebook.py [OUT]      # default OUT: runs/resnet-tiny-api

In a notebook the last expression of a cell shows the result as HTML (the decision's headline and the table),
and the progress bar is a widget (tqdm.auto).
"""
# %% the model: a small residual CNN that takes act_layer, and the image folder
import sys
from pathlib import Path

import actlab

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_shapes import make_shapes  # noqa: E402
from resnet_tiny import build  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/resnet-tiny-api")
folder = make_shapes(out.parent / "shapes")

# %% swapping by hand: what actlab does when a model does not take act_layer
import torch.nn  # noqa: E402

model = build(act_layer=torch.nn.ReLU)
print(actlab.swap(model, "mish").summary())

# %% the comparison: 4 activations × 3 seeds × 3 epochs, each arm's seeds stacked with torch.func
result = actlab.compare(build, folder, acts=["relu", "gelu", "silu", "mish"], seeds=3, epochs=3, batch_size=32,
                        out=out)

# %% the decision and the table (a notebook shows result._repr_html_())
print(result.recommend())
print(result.table())

# %% the figure and the full report
result.plot().savefig(out / "means.png", dpi=120)
print(result.report())
