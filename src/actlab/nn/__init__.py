"""torch layers built from activation specs: the autograd Function, modules, per-neuron layers, init."""
