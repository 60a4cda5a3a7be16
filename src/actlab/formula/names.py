"""Names a formula parameter may not take (no SymPy, no torch: the parser and the CLI read this)."""
from __future__ import annotations

from keyword import iskeyword

__all__ = ["RESERVED_NAMES", "is_reserved", "reserved_message"]

# names a parameter may not take: the keyword arguments of the functions that receive a formula's parameters as
# ``**params`` (f(x, **params), vjp(x, grad_output, **params), actlab.get(identifier, **params), properties(...),
# actlab.nn.create(spec, num_parameters, impl=..., **params), moments(spec, mean, std, ...)), Python's own names, and the
# formula language's
RESERVED_NAMES = frozenset({
    "self", "cls", "x", "grad_output", "identifier", "spec", "spec_or_name", "measure_cost", "num_parameters", "impl",
    "activation", "mean", "std", "breakpoints", "args", "kwargs", "params", "name", "dtype", "device",
    "None", "True", "False", "match", "case", "type",
})


def is_reserved(name: str) -> bool:
    return name in RESERVED_NAMES or iskeyword(str(name))


def reserved_message(name: str, column: int | None = None) -> str:
    where = f" at column {column}" if column else ""
    return (f"parameter name {name!r}{where} is reserved (actlab or Python uses it itself); rename the parameter, "
            f"e.g. {name}_ or p_{name}")
