"""Analysis of activation specs: properties, Gaussian expectations, self-normalisation, plots."""
