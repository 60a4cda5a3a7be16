"""Hypothesis strategies for hostile-but-valid formulas (kept in the repo for the fuzz benchmark and tests).

Deep chains of transcendental functions (the kind that made SymPy run for
minutes), identical or identically-zero branches, huge and tiny constants
(beyond 64-bit integers), powers at the exponent limit, and random mixes.
"""
from __future__ import annotations

from hypothesis import strategies as st

UNARY = ["exp", "log", "log1p", "expm1", "sqrt", "abs", "sign", "sin", "cos", "tan", "tanh", "sinh", "cosh",
         "arctan", "erf", "erfc", "sigmoid", "softplus", "relu"]
CONSTANTS = ["1", "2", "0.5", "3", "pi", "e", "1e19", "1e300", "1e-300", "123456789012345678901234567890", "16"]


def leaves() -> st.SearchStrategy[str]:
    return st.one_of(st.just("x"), st.just("x"), st.sampled_from(CONSTANTS))


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(["2", "3", "0.5", "-1", "16", "x"])).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(st.sampled_from(UNARY), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["maximum", "minimum"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(inner, st.sampled_from(["<", ">", "<=", ">=", "==", "!="]), inner, inner, inner).map(
            lambda t: f"where({t[0]} {t[1]} {t[2]}, {t[3]}, {t[4]})"),
        inner.map(lambda t: f"where(x > 0, {t}, {t})"),  # identical branches: no kink
        inner.map(lambda t: f"maximum({t}, {t})"),  # identically-zero boundary
        st.tuples(inner, inner).map(lambda t: f"clip({t[0]}, -1, {t[1]})"),
        inner.map(lambda t: f"-{t}"),
    )


def chains() -> st.SearchStrategy[str]:
    """sqrt(sinh(tan(erf(...(x)...)))): nested unary functions, up to 24 deep."""
    return st.lists(st.sampled_from(UNARY), min_size=1, max_size=24).map(
        lambda names: "".join(f"{n}(" for n in names) + "x" + ")" * len(names))


def formulas() -> st.SearchStrategy[str]:
    """Valid formulas up to the language's limits (some are refused: too long, too deep, 1/0)."""
    return st.one_of(st.recursive(leaves(), _extend, max_leaves=12), chains())


def sample(count: int) -> list[str]:
    """``count`` formulas from :func:`formulas` (derandomised: the same list every time)."""
    from hypothesis import HealthCheck, given, settings

    texts: list[str] = []

    @settings(max_examples=count, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(formulas())
    def collect(text: str) -> None:
        texts.append(text)

    collect()
    return texts
