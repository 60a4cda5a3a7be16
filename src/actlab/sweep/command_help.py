"""Each training command's help for the options table's rows whose own help and default do not fit it (key →
command → help, its default included); the rows name the commands that take them."""
from __future__ import annotations

__all__ = ["COMMAND_HELP"]

COMMAND_HELP: dict[str, dict[str, str]] = {
    'dataset': {
        'diagnose': 'A classification dataset (actlab data list). [default: mnist]',
        'boundary': 'Toy set: linear, circle, periodic, xor, gaussian, spiral, moons. [default: circle]',
        'selfnorm': 'Depth experiment: gaussian (toy 2-D blobs) or mnist. [default: gaussian]',
    },
    'subset': {
        'diagnose': 'Train on the first N training examples only.',
    },
    'depth': {
        'diagnose': 'Hidden layers. [default: 4; exploding: 5]',
        'selfnorm': 'Depth experiment: hidden layers. [default: 64]',
    },
    'width': {
        'diagnose': 'Units per hidden layer. [default: 30]',
        'selfnorm': 'Depth experiment: units per layer. [default: 256]',
    },
    'acts': {
        'selfnorm': 'Depth experiment: comma-separated activations. [default: selu,relu,tanh,gelu]',
    },
    'seeds': {
        'diagnose': 'Seeds per activation. [default: 3; nielsen: 5]',
        'boundary': ('Seeds per activation (mean ± std; the figure shows the median seed by test '
                     'accuracy). [default: 1]'),
    },
    'epochs': {
        'diagnose': 'Training epochs; 0 measures at initialisation only. [default: 5]',
        'boundary': 'The same as --steps (one full-batch step is one epoch).',
    },
    'steps': {
        'diagnose': 'The budget in optimiser steps instead of --epochs (0: measure at initialisation only).',
        'boundary': 'Full-batch Adam steps (one step is one epoch). [default: 2000]',
        'selfnorm': ('Depth experiment: Adam steps of the short training, through the experiment '
                     "core's driver. [default: 20]"),
    },
    'batch_size': {
        'diagnose': 'Mini-batch size. [default: 10; dying-relu: 32]',
        'selfnorm': 'Depth experiment: mini-batch size of the short training. [default: 64]',
    },
    'optimizer': {
        'diagnose': 'sgd or adam. [default: sgd; dying-relu: adam]',
    },
    'lr': {
        'diagnose': 'Learning rate. [default: 0.1; dying-relu: 0.01]',
        'boundary': 'Adam learning rate. [default: 0.03]',
        'selfnorm': 'Depth experiment: Adam learning rate of the short training. [default: 1e-4]',
    },
    'momentum': {
        'diagnose': 'SGD momentum. [default: 0]',
    },
    'dropout': {
        'selfnorm': ('AlphaDropout rate: print α′ and the affine (a, b) for it. With '
                     '--depth-experiment: dropout after each layer.'),
    },
    'init': {
        'diagnose': ('Init scheme of every layer: he, glorot, lecun (each _normal or _uniform; plain: '
                     'normal), standard (U[−1/√n, 1/√n], biases 0; Glorot & Bengio 2010), '
                     "torch-default (nn.Linear's), nielsen (N(0, 1/n) weights, N(0, 1) biases), or siren "
                     "(SIREN's first-layer and 1/ω₀-scaled hidden-layer uniforms). "
                     "[default: each activation's recommended scheme, output layer glorot, zero "
                     'biases]'),
        'boundary': ('Hidden-layer init scheme (he, glorot, lecun, their _normal/_uniform forms, '
                     'torch-default, standard, nielsen, siren), or per activation: glorot,square=he. '
                     "[default: each activation's recommendation]"),
        'selfnorm': ("Depth experiment: auto (each activation's recommendation) or an init scheme for "
                     'every hidden layer: he, glorot, lecun (normal), he_uniform, glorot_uniform, '
                     'lecun_uniform, standard, torch-default, nielsen, siren. [default: auto]'),
    },
    'no_bias': {
        'diagnose': ('No layer has a bias (speed is then measured on the pre-activations: what the '
                     'bias gradient would be). [default: --bias]'),
        'boundary': 'No bias in the hidden layer (the output keeps its bias). [default: --bias]',
    },
    'engine': {
        'tune': ('local (the vectorised engine) or ray (the comparison as Ray tasks, as compare '
                 '--engine ray). [default: local]'),
    },
    'out': {
        'tune': 'Output directory. [default: runs/tune-<dataset>-<model>-<hash>]',
        'diagnose': 'Output directory. [default: runs/diagnose-<name>-<hash>]',
    },
}
