"""The 2-D boundary lab: what a small net with a given activation learns (feature space, decision boundary)."""
