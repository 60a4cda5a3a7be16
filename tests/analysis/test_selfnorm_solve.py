"""Solving for self-normalising constants, and the `actlab selfnorm` command."""
from __future__ import annotations

import json
import math

import pytest

import actlab
from actlab.analysis import selfnorm as sn
from actlab.analysis import selfnorm_solve
from actlab.catalog.rectifiers import SELU_ALPHA, SELU_SCALE
from actlab.cli import main

ELU_FAMILY = "lam*where(x > 0, x, alpha*(exp(x) - 1))"
# the published constants, as printed in Klambauer et al. 2017 (not read from the catalog)
PUBLISHED_ALPHA = 1.6732632423543772848170429916717
PUBLISHED_LAMBDA = 1.0507009873554804934193349852946


def test_solver_derives_the_selu_constants_from_first_principles():
    solution = selfnorm_solve.solve(ELU_FAMILY, ["alpha", "lam"], params={"alpha": 1.0, "lam": 1.0})
    assert solution.equations == ("mean", "variance")
    assert abs(solution.solved["alpha"] - PUBLISHED_ALPHA) < 1e-9
    assert abs(solution.solved["lam"] - PUBLISHED_LAMBDA) < 1e-9
    assert all(abs(r) < 1e-12 for r in solution.residuals.values())
    # and they agree with the catalog's
    assert solution.solved["alpha"] == pytest.approx(SELU_ALPHA, abs=1e-12)
    assert solution.solved["lam"] == pytest.approx(SELU_SCALE, abs=1e-12)


def test_odd_activation_needs_only_a_scale():
    solution = selfnorm_solve.solve("lam*tanh(x)", ["lam"], params={"lam": 1.0})
    assert solution.equations == ("variance",)
    assert all(abs(r) < 1e-12 for r in solution.residuals.values())
    lam = solution.solved["lam"]
    # independent check: λ = 1 / sqrt(E tanh(Z)^2), by SciPy's QUADPACK
    from scipy import integrate

    e2 = 2 * integrate.quad(lambda z: math.tanh(z) ** 2 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                            0, 40, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
    assert lam == pytest.approx(1 / math.sqrt(e2), rel=1e-11)


def test_rectifier_needs_a_shift_and_a_scale():
    solution = selfnorm_solve.solve("lam*(relu(x) - c)", ["c", "lam"], params={"c": 0.0, "lam": 1.0})
    assert all(abs(r) < 1e-12 for r in solution.residuals.values())
    # closed form: c = E relu(Z) = 1/sqrt(2π), λ = 1/sqrt(Var relu(Z)) = 1/sqrt(1/2 - 1/(2π))
    assert solution.solved["c"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-12)
    assert solution.solved["lam"] == pytest.approx(1 / math.sqrt(0.5 - 1 / (2 * math.pi)), abs=1e-11)
    # (0, 1) is a fixed point, but a positively homogeneous f keeps every variance: not attracting
    fp = sn.fixed_point(solution.spec)
    assert fp.found and fp.verdict == "not attracting"
    assert fp.jacobian[1][1] == pytest.approx(1.0, abs=1e-10)


def test_solving_with_other_tau():
    solution = selfnorm_solve.solve(ELU_FAMILY, ["alpha", "lam"], tau=2.0, params={"alpha": 1.0, "lam": 1.0})
    mean, variance = sn.layer_map(solution.spec, 0.0, 1.0, 0.0, 2.0)
    assert abs(mean) < 1e-12 and abs(variance - 1) < 1e-12
    assert solution.solved["lam"] < PUBLISHED_LAMBDA  # a wider z needs a smaller scale


def test_under_over_determined_and_no_solution_are_clear_errors():
    with pytest.raises(actlab.ActlabError, match="under-determined"):
        selfnorm_solve.solve("lam*tanh(c*x)", ["lam", "c"], params={"lam": 1.0, "c": 1.0})
    with pytest.raises(actlab.ActlabError, match="over-determined"):
        selfnorm_solve.solve("elu", ["alpha"])
    with pytest.raises(actlab.ActlabError, match="no solution"):
        selfnorm_solve.solve("softplus", ["beta", "threshold"])  # softplus > 0: E f = 0 is impossible
    with pytest.raises(actlab.ActlabError, match="did you mean alpha"):
        selfnorm_solve.solve("elu", ["alpah"])


@pytest.mark.slow
def test_a_solution_the_quadrature_cannot_see_is_rejected():
    """tanh(a·x) + c: Var → 1 only as a → ∞; with a ≈ 7000 the quadrature misses the step at 0 and
    reports Var f = 1 exactly; the sampling check catches it, so the solver reports no solution."""
    with pytest.raises(actlab.ActlabError, match="no solution.*sampling gives"):
        selfnorm_solve.solve("tanh(a*x) + c", ["a", "c"], params={"a": 1.0, "c": 0.0})


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_cli_json_keys_and_full_precision(capsys):
    code, out, _ = run(capsys, "selfnorm", ELU_FAMILY, "--solve", "alpha,lam", "-p", "alpha=1", "-p", "lam=1",
                       "--dropout", "0.1", "--json")
    assert code == 0
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert list(data) == ["activation", "params", "solved", "residuals", "fixed_point", "jacobian",
                          "max_singular_value", "verdict", "alpha_dropout"]
    assert abs(data["solved"]["alpha"] - PUBLISHED_ALPHA) < 1e-9
    assert data["params"]["lam"] == data["solved"]["lam"]
    assert repr(data["solved"]["lam"]) in out  # printed with full double precision
    assert data["verdict"] == "attracting" and len(data["jacobian"]) == 2
    assert set(data["fixed_point"]) == {"mean", "variance"}
    assert set(data["alpha_dropout"]) == {"alpha_prime", "a", "b"}
    assert data["alpha_dropout"]["alpha_prime"] == pytest.approx(-PUBLISHED_ALPHA * PUBLISHED_LAMBDA, abs=1e-9)


def test_cli_json_is_strict_without_a_fixed_point(capsys):
    code, out, _ = run(capsys, "selfnorm", "relu", "--json")
    assert code == 0 and "NaN" not in out and "Infinity" not in out
    data = json.loads(out)
    assert data["solved"] is None and data["fixed_point"] == {"mean": None, "variance": None}
    assert data["jacobian"] is None and data["verdict"] == "no fixed point"
    assert "alpha_dropout" not in data


@pytest.mark.parametrize("argv,message", [
    (["selfnorm", "lam*tanh(c*x)", "--solve", "lam,c", "-p", "lam=1", "-p", "c=1"], "under-determined"),
    (["selfnorm", "elu", "--solve", "alpha"], "over-determined"),
    (["selfnorm", "softplus", "--solve", "beta,threshold"], "no solution"),
    (["selfnorm", "softmax"], "element-wise"),
    (["selfnorm", "gleu"], "did you mean"),
    (["selfnorm", "selu", "--tau", "0"], "tau"),
    (["selfnorm", "selu", "--dropout", "1.5"], "dropout"),
    (["selfnorm", "leaky_relu", "--dropout", "0.1"], "no finite limit"),
    (["selfnorm"], "name an activation"),
    (["selfnorm", "selu", "--depth-experiment"], "--acts"),
], ids=["under", "over", "nosolution", "vector", "unknown", "tau", "rate", "noalpha", "none", "depthmix"])
def test_cli_errors_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err


def test_cli_text_and_figure(capsys, tmp_path):
    target = tmp_path / "map.png"
    code, out, _ = run(capsys, "selfnorm", "selu", "--dropout", "0.05", "-o", str(target))
    assert code == 0 and target.stat().st_size > 10_000
    assert "attracting" in out and "α′ = -1.7580993408473766" in out
