"""Small commands: typos refused before torch loads, the on-disk cache of show/props/plot, plain output."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from actlab.cli import main
from actlab.cli.analysis import cost_text
from actlab.cli.cache import cache_dir, cached_json
from actlab.cli.names import check_acts, check_names
from actlab.errors import ActlabError

CODE = ("import sys; from actlab.cli import main; code = main(sys.argv[1:]); "
        "print('HEAVY', [m for m in ('torch', 'numpy', 'sympy', 'scipy', 'matplotlib') if m in sys.modules]); "
        "sys.exit(code)")


def _run(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("argv", [("show", "gleu"), ("eval", "gleu", "--x", "1"), ("props", "relu", "gleu"),
                                  ("plot", "gleu"), ("compare", "--acts", "relu,gleu")])
def test_a_typo_is_refused_before_any_heavy_import(argv):
    done = _run(*argv)
    assert done.returncode == 2 and "unknown activation 'gleu'; did you mean" in done.stderr and "gelu" in done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


def test_a_space_separated_list_gets_the_comma_hint():
    with pytest.raises(ActlabError, match=r"separate activations with commas, e\.g\. --acts relu,gelu"):
        check_acts("relu gelu")
    check_acts("relu,max(x, 0),x**2")  # formulas (commas inside parentheses) pass to the parser
    check_names(["x", "swish", "ReLU", "x*sigmoid(x)"])


@pytest.mark.slow
def test_show_of_a_cached_record_imports_nothing_heavy_and_says_the_same(tmp_path):
    env = {"ACTLAB_CACHE_DIR": str(tmp_path)}
    first = _run("show", "elu", env=env)
    second = _run("show", "elu", env=env)
    assert first.returncode == second.returncode == 0
    assert second.stdout.splitlines()[-1] == "HEAVY []" and first.stdout == second.stdout.replace(
        "HEAVY []", first.stdout.splitlines()[-1])
    text = second.stdout
    assert "None" not in text and "[]" not in text.replace("HEAVY []", "")
    import re

    assert not re.search(r"\d\.\d{7,}", text)  # no 12-digit floats


@pytest.mark.slow
def test_props_and_plot_hit_the_cache_without_heavy_imports(tmp_path):
    env = {"ACTLAB_CACHE_DIR": str(tmp_path)}
    assert _run("props", "relu", "tanh", "--no-cost", env=env).returncode == 0
    hit = _run("props", "relu", "tanh", "--no-cost", "--json", env=env)
    assert hit.returncode == 0 and hit.stdout.splitlines()[-1] == "HEAVY []"
    rows = json.loads(hit.stdout.rsplit("HEAVY", 1)[0])
    assert [r["name"] for r in rows] == ["relu", "tanh"] and rows[1]["range_min"] == -1
    out = tmp_path / "a.png"
    assert _run("plot", "relu", "-o", str(out), env=env).returncode == 0
    out.unlink()
    again = _run("plot", "relu", "-o", str(out), env=env)
    assert again.stdout.splitlines()[-1] == "HEAVY []" and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_eval_of_a_catalog_record_hits_the_cache_without_heavy_imports(tmp_path):
    import math

    env = {"ACTLAB_CACHE_DIR": str(tmp_path)}
    first = _run("eval", "gelu", "--x", "-1,0.5,2", "--json", env=env)
    again = _run("eval", "gelu", "--x", "-1,0.5,2", "--json", env=env)
    other = _run("eval", "gelu", "--x", "-1,0.5,3", "--json", env=env)  # other points: computed, not the cached ones
    assert first.returncode == again.returncode == other.returncode == 0
    assert first.stdout.splitlines()[-1] != "HEAVY []" and again.stdout.splitlines()[-1] == "HEAVY []"
    values = json.loads(again.stdout.rsplit("HEAVY", 1)[0])
    assert values == json.loads(first.stdout.rsplit("HEAVY", 1)[0])
    assert values["y"] == pytest.approx([x * 0.5 * (1 + math.erf(x / math.sqrt(2))) for x in (-1, 0.5, 2)],
                                        rel=1e-14)
    assert json.loads(other.stdout.rsplit("HEAVY", 1)[0])["x"][-1] == 3


def test_the_cache_survives_damage_and_concurrent_writers(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    calls = []
    assert cached_json("t", "k", lambda: calls.append(1) or {"v": float("inf")}) == {"v": float("inf")}
    assert cached_json("t", "k", lambda: calls.append(1) or {"v": 0}) == {"v": float("inf")} and len(calls) == 1
    (entry,) = list((tmp_path / "c").rglob("*.json"))
    entry.write_text('{"v": ')  # torn / damaged: computed again, and rewritten whole
    assert cached_json("t", "k", lambda: {"v": 2}) == {"v": 2} and json.loads(entry.read_text()) == {"v": 2}
    big = {"rows": list(range(20000))}
    threads = [threading.Thread(target=cached_json, args=("t", "big", lambda: big)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (entry,) = [p for p in (tmp_path / "c").rglob("*.json") if json.loads(p.read_text()) != {"v": 2}]
    assert json.loads(entry.read_text()) == big and not list((tmp_path / "c").rglob("*.tmp"))


def test_cost_is_shown_with_its_interval_and_noise_is_called_noise():
    assert cost_text(81.14, 172.8).endswith("within noise")  # spread larger than the value
    assert cost_text(1.99, 48.6).endswith("within noise")
    assert cost_text(1.05, 0.1).endswith("within noise")  # holds 1: not told apart from relu
    assert cost_text(2.0, 0.1) == "2 [1.9, 2.1]" and cost_text(None, None) == "–"


def test_props_json_marks_noise(capsys):
    assert main(["props", "relu", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    verdict = cost_text(row["relative_cost"], row["relative_cost_spread"]).endswith("within noise")
    assert row["relative_cost_within_noise"] is verdict


def test_eval_without_x_uses_a_default_grid(capsys):
    assert main(["eval", "relu", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["x"] == [-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3] and data["y"] == [max(0.0, v) for v in data["x"]]
