"""torch layers built from activation specs: the factory, the autograd Function, modules, Maxout, PerNeuron.

>>> layer = create("gelu")  # or create(actlab.get("gelu"), impl="reference")
"""
from __future__ import annotations

from actlab.nn.alpha_dropout import AlphaDropout
from actlab.nn.factory import create
from actlab.nn.function import apply, function_for
from actlab.nn.gated import FeedForward, GatedLinear
from actlab.nn.maxout import Maxout
from actlab.nn.modules import ActivationModule
from actlab.nn.per_neuron import PerNeuron

__all__ = ["ActivationModule", "AlphaDropout", "FeedForward", "GatedLinear", "Maxout", "PerNeuron", "apply", "create", "function_for"]
