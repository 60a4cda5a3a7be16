"""A damaged ``results.sqlite`` (flipped bytes, a dropped table, bad JSON, text in a number column, a truncated
file) and one that is not actlab's: ``compare --resume``, ``report`` and ``export`` end with exit 2 and a message
naming the file and the problem, never a traceback, and the file is left byte for byte as it was."""
from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3

import pytest

from actlab.cli import main


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    out = tmp_path_factory.mktemp("healthy") / "run"
    code = main(["compare", "--dataset", "moons", "--subset", "200", "--acts", "relu,tanh", "--seeds", "2",
                 "--epochs", "3", "--width", "8", "--depth", "1", "--compile", "off", "--quiet", "--out", str(out)])
    assert code in (0, 3)  # 3: the tiny sweep may learn nothing; the store is what matters here
    return out


def _sql(statements):
    def damage(path):
        connection = sqlite3.connect(path)
        connection.executescript(statements)
        connection.commit()
        connection.close()
    return damage


def _overwrite_page(page):
    def damage(path):
        with open(path, "r+b") as handle:
            handle.seek((page - 1) * 4096)
            handle.write(b"\xff" * 4096)
    return damage


def _flip(positions):
    def damage(path):
        data = bytearray(path.read_bytes())
        for position in positions:
            data[position % len(data)] ^= 0xFF
        path.write_bytes(bytes(data))
    return damage


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(20_000)


FIRST = "(SELECT MIN(run_id) FROM {})"
CASES = {
    # what is damaged: (how, words the message must contain)
    "dropped epochs table": (_sql("DROP TABLE epochs"), "table epochs missing"),
    "dropped results table": (_sql("DROP TABLE results"), "table results missing"),
    "bad params JSON": (_sql(f"UPDATE runs SET params = '{{bad' WHERE run_id = {FIRST.format('runs')}"),
                        "parameters of run 'relu/seed=0' is not valid JSON"),
    "bad sweep config JSON": (_sql("UPDATE sweep SET config = '{\"epochs\": '"), "config is not valid JSON"),
    "sweep config not an object": (_sql("UPDATE sweep SET config = '[1, 2]'"), "config holds a JSON list"),
    "text in val_loss": (_sql("UPDATE epochs SET val_loss = 'abc' WHERE epoch = 2"), "val_loss holds 'abc'"),
    "text in seed": (_sql(f"UPDATE runs SET seed = 'x' WHERE run_id = {FIRST.format('runs')}"), "seed holds 'x'"),
    "text in test_accuracy": (_sql(f"UPDATE results SET test_accuracy = 'abc' WHERE run_id = {FIRST.format('results')}"),
                              "test_accuracy holds 'abc'"),
    "text in epoch": (_sql("UPDATE epochs SET epoch = 'abc' WHERE epoch = 3"), "epoch holds 'abc'"),
    "a page overwritten": (_overwrite_page(3), "malformed"),
    "truncated": (_truncate, "malformed"),
    "flipped header": (_flip(range(0, 16)), "not a readable actlab store"),
    "flipped bytes in text": (_flip(random.Random(3).sample(range(100, 61_440), 200)), "not valid UTF-8"),
}
COMMANDS = {
    "compare --resume": lambda run, tmp: ["compare", "--out", str(run), "--resume", "--quiet"],
    "report": lambda run, tmp: ["report", str(run), "--out", str(tmp / "report")],
    "export": lambda run, tmp: ["export", str(run), "--csv", str(tmp / "csv")],
}


def _fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _damaged_copy(healthy, tmp_path, damage):
    run = tmp_path / "run"
    shutil.copytree(healthy, run)
    damage(run / "results.sqlite")
    return run


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(CASES))
def test_damaged_store_exit_2_named_and_untouched(healthy, tmp_path, capsys, case, command):
    damage, words = CASES[case]
    run = _damaged_copy(healthy, tmp_path, damage)
    before = _fingerprint(run / "results.sqlite")
    if command == "export" and case in ("bad sweep config JSON", "sweep config not an object"):
        words = None  # export copies runs and epochs; it reads the sweep row only for TensorBoard
    code = main(COMMANDS[command](run, tmp_path))
    out, err = capsys.readouterr()
    text = " ".join((out + err).split())
    assert "Traceback" not in text
    if words is None:
        assert code in (0, 2), text
    else:
        assert code == 2, text
        assert str(run / "results.sqlite") in text and words in text, text
        assert "damaged" in text or "not a readable actlab store" in text, text
    assert _fingerprint(run / "results.sqlite") == before  # nothing written into it
    assert not (run / "results.sqlite-journal").exists()


@pytest.mark.parametrize("seed", range(6))
def test_random_flips_never_a_traceback(healthy, tmp_path, capsys, seed):
    """Random flips may land in free space (then everything works) or anywhere else: exit 0 or 2, never a traceback."""
    rng = random.Random(seed)
    run = _damaged_copy(healthy, tmp_path, _flip(rng.sample(range(100, (healthy / "results.sqlite").stat().st_size),
                                                             rng.choice([1, 8, 64]))))
    before = _fingerprint(run / "results.sqlite")
    for command in ("report", "export", "compare --resume"):
        code = main(COMMANDS[command](run, tmp_path))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert code in (0, 2, 3), out + err  # 3: the tiny sweep learned nothing (its decision says so)
        if code == 2:
            assert str(run / "results.sqlite") in " ".join((out + err).split())
        if command != "compare --resume" or code == 2:
            assert _fingerprint(run / "results.sqlite") == before


@pytest.mark.parametrize("kind", ["empty", "foreign"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_empty_or_foreign_file_refused_by_every_reader(tmp_path, capsys, kind, command):
    run = tmp_path / "run"
    run.mkdir()
    target = run / "results.sqlite"
    if kind == "empty":
        target.touch()
    else:
        connection = sqlite3.connect(target)
        connection.execute("CREATE TABLE invoices (id INTEGER)")
        connection.commit()
        connection.close()
    before = target.read_bytes()
    code = main(COMMANDS[command](run, tmp_path))
    text = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "not an actlab store" in text and str(target) in text, text
    assert target.read_bytes() == before
