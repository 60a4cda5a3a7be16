"""The hostile CLI sweep: every command with inputs a hostile (or careless) user gives — unknown and near-miss
names, bad numbers, negative and huge sizes, NaN/inf, empty strings, binary files, directories instead of files,
missing paths, bad TOML, injection-looking formulas.  Each must end with exit 2, a message that names the problem,
and no traceback.  Commands run in-process (``actlab.cli.main``); a few run as real processes at the end.

The commands are discovered from the app: a new command without hostile cases here fails the coverage test.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from actlab.cli import app, main

SRC = str(Path(__file__).resolve().parents[2] / "src")

# the base of each training command: tiny and quick, so that an input that slips through costs little (and
# fails the test with exit 0); the hostile option comes after it and wins
TUNE = ["tune", "--dataset", "moons", "--subset", "100", "--epochs", "1", "--trials", "2", "--acts", "relu",
        "--out", "{tmp}/tune", "--quiet"]
COMPARE = ["compare", "--dataset", "moons", "--subset", "100", "--epochs", "1", "--seeds", "1", "--acts", "relu",
           "--width", "8", "--quiet", "--out", "{tmp}/c"]
BOUNDARY = ["boundary", "--dataset", "circle", "--act", "tanh", "--epochs", "2", "--seeds", "1", "--points", "40",
            "-o", "{tmp}/b.png"]
DIAGNOSE = ["diagnose", "--act", "tanh", "--dataset", "moons", "--depth", "2", "--width", "8", "--epochs", "1",
            "--batch-size", "32", "--eval-size", "50", "--seeds", "1", "-o", "{tmp}/d"]
DEPTH = ["selfnorm", "--depth-experiment", "--acts", "selu", "--depth", "2", "--width", "8", "--steps", "1"]

INJECTIONS = ["__import__('os').system('touch {tmp}/pwned')", "x.__class__.__bases__", "(lambda: 1)()",
              "open('/etc/passwd')", "exec('1')", "x; import os", "[x for x in ()]", "globals()"]
NAMES = ["nosuch", "reluu", "", " ", "../../etc/passwd", "x" * 600]

CASES: dict[str, list[list[str]]] = {
    "list": [["list", "extra"], ["list", "--bogus"], ["list", "--json", "--json=3"]],
    "show": [*(["show", n] for n in NAMES), *(["show", f] for f in INJECTIONS),
             ["show", "elu", "-p", "alpha=nan"], ["show", "elu", "-p", "alpha=inf"], ["show", "elu", "-p", "alpha"],
             ["show", "elu", "-p", "=1"], ["show", "elu", "-p", "zzz=1"], ["show", "elu", "-p", "alpha=1e400"],
             ["show"]],
    "eval": [["eval", "relu", "--x", "abc"], ["eval", "relu", "--x", ""], ["eval", "relu", "--x", "1,,2"],
             ["eval", "nosuch", "--x", "1"], ["eval", "relu", "--x", "0x1g"],  # no --x: a default grid
             *(["eval", f, "--x", "1"] for f in INJECTIONS), ["eval", "x +", "--x", "1"],
             ["eval", "a*x", "--x", "1"], ["eval", "elu", "--x", "1", "-p", "alpha=nan"],
             ["eval", "x**" + "x**" * 40 + "x", "--x", "1"]],
    "define": [["define", "", "x"], ["define", "x", "x"], ["define", "1abc", "x"], ["define", "zz", ""],
               ["define", "zz", "x +"], ["define", "zz", "a*x"], ["define", "zz", "x", "-p", "a=nan"],
               ["define", "relu", "x"], *(["define", "zz", f] for f in INJECTIONS),
               ["define", "zz", "x" * 600], ["define", "zz", "sin(" * 100 + "x" + ")" * 100]],
    "props": [["props", "nosuch"], ["props", "relu", "--sort", "nosuchfield"], ["props", "elu", "-p", "alpha=abc"],
              *(["props", f, "--no-cost"] for f in INJECTIONS[:3]), ["props", "", "--no-cost"]],
    "plot": [["plot", "nosuch", "-o", "{tmp}/p.png"], ["plot", "relu", "-o", "{dir}"],
             ["plot", "relu", "-o", "{tmp}/p.gif"], ["plot", "relu", "--range=abc", "-o", "{tmp}/p.png"],
             ["plot", "relu", "--range=1", "-o", "{tmp}/p.png"], ["plot", "relu", "--range=5,1", "-o", "{tmp}/p.png"],
             ["plot", "relu", "--range=nan,1", "-o", "{tmp}/p.png"],
             ["plot", "relu", "--range=-inf,inf", "-o", "{tmp}/p.png"],
             ["plot", "relu", "-o", "{missing}/x.png"], ["plot", "relu", "-o", "{binary}/x.png"],
             ["plot", INJECTIONS[0], "-o", "{tmp}/p.png"], ["plot", "relu", "-o", ""]],
    "data list": [["data", "list", "extra"], ["data", "bogus"]],
    "data show": [["data", "show", "nosuch"], ["data", "show", "circ"], ["data", "show", "{missing}.csv"],
                  ["data", "show", "{dir}"], ["data", "show", "{binary}"], ["data", "show", "{binary_csv}"],
                  ["data", "show", "{empty_csv}"], ["data", "show", "circle", "-O", "n=-5"],
                  ["data", "show", "circle", "-O", "n=abc"], ["data", "show", "circle", "-O", "n=1e20"],
                  ["data", "show", "circle", "-O", "noise=nan"], ["data", "show", "circle", "-O", "bogus=1"],
                  ["data", "show", "circle", "-O", "n"], ["data", "show", "circle", "-o", "{dir}"],
                  ["data", "show", "{text_csv}", "--target", "nosuchcol"], ["data", "show", ""],
                  ["data", "show", "{bad_npz}"]],
    "compare": [[*COMPARE, *extra] for extra in (
        ["--acts", "nosuch"], ["--acts", "reluu"], ["--acts", ""], ["--acts", ","], *(["--acts", f] for f in INJECTIONS),
        ["--seeds", "-1"], ["--seeds", "0"], ["--seeds", "1000000000"], ["--seeds", "abc"], ["--epochs", "-1"],
        ["--epochs", "0"], ["--epochs", "10000000000"], ["--width", "0"], ["--width", "100000000"], ["--depth", "-1"],
        ["--depth", "100000"], ["--lr", "nan"], ["--lr", "inf"], ["--lr", "-1"], ["--lr", "abc"], ["--lr", "0"],
        ["--batch-size", "0"], ["--batch-size", "-3"], ["--subset", "-5"], ["--subset", "10000000000"],
        ["--dataset", "nosuch"], ["--dataset", "mnits"], ["--dataset", "{missing}.csv"], ["--dataset", "{dir}"],
        ["--dataset", "{binary_csv}"], ["--dataset", "{empty_csv}"], ["--dataset", "{bad_npz}"],
        ["--dataset", "{text_csv}", "--target", "nosuchcol"],
        ["--config", "{binary_toml}"], ["--config", "{bad_toml}"], ["--config", "{missing}.toml"],
        ["--config", "{dir}"], ["--config", "{unknown_key_toml}"], ["--config", "{wrong_type_toml}"],
        ["--optimizer", "nosuch"], ["--dropout", "2"], ["--dropout", "nan"], ["--dropout", "-0.5"],
        ["--init", "nosuch"], ["--precision", "fp8"], ["--engine", "nosuch"], ["--device", "tpu"],
        ["--compile", "maybe"], ["--max-memory", "abc"], ["--max-memory", "-1GB"], ["--margin", "nan"],
        ["--margin", "-1"], ["--out", ""], ["--out", "{binary}"], ["--lr-grid", "abc"], ["--lr-grid", ""],
        ["--lr-grid", "nan,1"], ["--momentum", "nan"], ["--momentum", "-1"], ["--clip-value", "-1"],
        ["--clip-norm", "nan"], ["--model", "nosuch"], ["--weight-decay", "inf"], ["--resume", "--out", "{dir}"],
        ["--resume", "--out", "{missing}"], ["--lr", "0.1", "--lr-grid", "0.1,0.2"],
        ["--steps", "0"], ["--steps", "-5"], ["--steps", "abc"], ["--steps", "10", "--epochs", "2"],
        ["--eval-every", "0"], ["--val-size", "-1"], ["--val-size", "0"], ["--val-size", "100000"],
        ["--report-at", "best"], ["--report-at", "finall"], ["--init", "he_unifrom"], ["--init", "uniform"],
        ["--weight-scale", "0"], ["--weight-scale", "nan"], ["--weight-scale", "-1"], ["--bias-init", "inf"],
        ["--no-bias", "--bias-init", "0.1"], ["--depth", "0", "--model", "cnn"],
        ["--adam-beta1", "1"], ["--adam-beta2", "-0.1"], ["--eps", "0"], ["--eps", "nan"],
        ["--optimizer", "rmsprop", "--rmsprop-alpha", "1.5"], ["--optimizer", "rmsprop", "--rmsprop-momentum", "-1"],
        ["--rmsprop-alpha", "0.5"], ["--rmsprop-centered"], ["--nesterov"], ["--optimizer", "sgd", "--nesterov",
                                                                              "--momentum", "0"],
        ["--optimizer", "sgd", "--adam-beta1", "0.5"], ["--log-every-step=3"],
    )],
    "signal": [["signal", "nosuch"], ["signal"], ["signal", "tanh", "--weight-variance", "-1"],
               ["signal", "tanh", "--weight-variance", "nan"], ["signal", "tanh", "--bias-variance", "-0.5"],
               ["signal", "tanh", "--plot", "{tmp}/p.gif"], ["signal", "tanh", "--points", "0"],
               ["signal", "--trainability", "tanh", "--depths", "abc"],
               ["signal", "--trainability", "tanh", "--depths", "10:5:1"],
               ["signal", "--trainability", "tanh", "--dataset", "nosuch"],
               ["signal", "--trainability", "tanh", "relu"]],
    "search": [["search", "--out", "{tmp}/s", *extra] for extra in (
        ["--space", "nosuch"], ["--depth", "3"], ["--task", "mnits"], ["--budget", "abc"], ["--unary", "nosuch"],
        ["--screen", "nosuch"], ["--final-seeds", "0"], ["--baselines", "reluu"],
    )] + [["search", "--out", "{binary}"]],
    "tune": [[*TUNE, *extra] for extra in (
        ["--trials", "0"], ["--trials", "-1"], ["--trials", "abc"], ["--trials", "1000000000"],
        ["--space", "lr=1:0"], ["--space", "lr=abc:1"], ["--space", "lrr=1e-4:1e-1:log"], ["--space", "nosuch=1:2"],
        ["--space", "lr=-1:1:log"], ["--space", "width=0:10"], ["--space", "depth=1:100000"], ["--space", ""],
        ["--space", "optimizer=adam|nosuch"], ["--space", "lr=nan:1"], ["--pruner", "nosuch"], ["--acts", "reluu"],
        ["--acts", ""], *(["--acts", f] for f in INJECTIONS), ["--dataset", "mnits"], ["--dataset", "{dir}"],
        ["--engine", "nosuch"], ["--seeds", "0"], ["--epochs", "-1"], ["--out", ""], ["--out", "{binary}"],
    )],
    "compare_ray": [[*COMPARE, *extra] for extra in (
        ["--cpus-per-task", "0"], ["--cpus-per-task", "abc"], ["--gpus-per-task", "-1"], ["--grid-size", "0"],
        ["--grid-size", "abc"],
    )],
    "report": [["report", "{missing}"], ["report", "{dir}"], ["report", "{binary}"], ["report", "{store}", "--margin", "nan"],
               ["report", "{store}", "--margin", "-1"], ["report", "{store}", "--margin", "abc"],
               ["report", "{store}", "--out", "{binary}"], ["report", "{store}", "--out", ""], ["report", ""],
               ["report", "{damaged_store}"]],
    "export": [["export", "{store}"], ["export", "{store}", "--csv", "{binary}"], ["export", "{missing}", "--csv", "{tmp}/e"],
               ["export", "{dir}", "--csv", "{tmp}/e"], ["export", "{store}", "--parquet", "{binary}"],
               ["export", "{store}", "--tensorboard", "{binary}"], ["export", "{store}", "--csv", ""],
               ["export", "{damaged_store}", "--csv", "{tmp}/e"], ["export", "", "--csv", "{tmp}/e"],
               ["export", "{store}", "--last-steps", "0"], ["export", "{store}", "--last-steps", "200"],
               ["export", "{store}", "--last-steps", "abc"]],
    "demo": [["demo", "--bogus"], ["demo", "extra"]],
    "boundary": [[*BOUNDARY, *extra] for extra in (
        ["--act", "nosuch"], *(["--act", f] for f in INJECTIONS[:4]), ["--act", ""], ["--dataset", "nosuch"],
        ["--dataset", "{dir}"], ["--hidden", "0"], ["--hidden", "-1"], ["--hidden", "100000000"], ["--epochs", "-1"],
        ["--epochs", "100000000000"], ["--lr", "nan"], ["--lr", "inf"], ["--lr", "-1"], ["--seeds", "0"],
        ["--seeds", "1000000"], ["--noise", "nan"], ["--noise", "-1"], ["--points", "0"], ["--points", "10000000000"],
        ["-o", "{dir}"], ["-o", "{tmp}/b.gif"], ["--animate", "{tmp}/b.txt"], ["--frames", "0"], ["--frames", "-1"],
        ["-o", "{missing}/b.png"], ["--data-seed", "-1"], ["--seed", "-1"],
    )],
    "diagnose": [[*DIAGNOSE, *extra] for extra in (
        ["--act", "nosuch"], *(["--act", f] for f in INJECTIONS[:4]), ["--depth", "0"], ["--depth", "-1"],
        ["--depth", "100000"], ["--width", "0"], ["--width", "100000000"], ["--dataset", "nosuch"],
        ["--dataset", "{dir}"], ["--init", "nosuch"], ["--epochs", "-1"], ["--lr", "nan"], ["--lr", "inf"],
        ["--optimizer", "nosuch"], ["--batch-size", "0"], ["--l2", "nan"], ["--clip-value", "-1"],
        ["--clip-norm", "nan"], ["--seeds", "0"], ["--every", "0"], ["--eval-size", "0"], ["--eval-size", "-1"],
        ["--subset", "-1"], ["--preset", "nosuch"], ["--compare-acts", "nosuch"], ["--compare-acts", ""],
        ["-p", "alpha=nan"], ["-o", "{binary}"], ["-o", ""],
    )],
    "selfnorm": [["selfnorm", "nosuch"], ["selfnorm", "selu", "-p", "alpha=nan"], ["selfnorm", "selu", "--solve", "nosuch"],
                 ["selfnorm", "selu", "--solve", "alpha,beta,gamma"], ["selfnorm", "selu", "--omega", "nan"],
                 ["selfnorm", "selu", "--tau", "-1"], ["selfnorm", "selu", "--tau", "nan"],
                 ["selfnorm", "selu", "--dropout", "1.5"], ["selfnorm", "selu", "--dropout", "nan"],
                 ["selfnorm", "selu", "-o", "{tmp}/s.txt"], ["selfnorm", "selu", "-o", "{dir}"],
                 ["selfnorm", INJECTIONS[0]], ["selfnorm", ""],
                 *([*DEPTH, *extra] for extra in (
                     ["--depth", "0"], ["--depth", "1000000"], ["--width", "0"], ["--width", "100000000"],
                     ["--init", "nosuch"], ["--dataset", "nosuch"], ["--steps", "-1"], ["--acts", "nosuch"],
                     ["--acts", ""], ["--seed", "-1"]))],
    "recommend": [["recommend", "--task", "nosuch"], ["recommend", "--depth", "-1"], ["recommend", "--depth", "abc"],
                  ["recommend", "--normalization", "nosuch"], ["recommend", "--budget", "nosuch"],
                  ["recommend", "--from", "{missing}"], ["recommend", "--from", "{dir}"],
                  ["recommend", "--from", "{binary}"], ["recommend", "--from", "{damaged_store}"],
                  ["recommend", "--depth", "100000000000000000000"]],
    "playground": [["playground", "--port", "0"], ["playground", "--port", "70000"], ["playground", "--port", "abc"],
                   ["playground", "--port", "-1"], ["playground", "--host", ""], ["playground", "--host", "not a host!"],
                   ["playground", "--host", "256.1.1.1"], ["playground", "--host", "x" * 300],
                   ["playground", "--host", "192.0.2.1"]],
}


def _commands() -> set[str]:
    found = set()

    def walk(command, prefix: str) -> None:
        subs = getattr(command, "commands", {})
        for name, sub in subs.items():
            walk(sub, f"{prefix} {name}".strip())
        if not subs and prefix:
            found.add(prefix)

    walk(typer.main.get_command(app), "")
    return found


def test_every_command_has_hostile_cases():
    assert _commands() <= set(CASES), _commands() - set(CASES)


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The files and directories the cases name."""
    import sqlite3

    import numpy as np

    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "adir").mkdir()
    (tmp / "binary").write_bytes(bytes(range(256)) * 4)
    (tmp / "binary.csv").write_bytes(b"\xfb\xff\x00\x01" * 100)
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "text.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    np.savez(tmp / "bad.npz", X=np.zeros((10, 0)), y=np.arange(10) % 2)
    (tmp / "binary.toml").write_bytes(b"\xfb")
    (tmp / "bad.toml").write_text("epochs = = 3\n[[[")
    (tmp / "unknown.toml").write_text("epocs = 3\n")
    (tmp / "wrongtype.toml").write_text('epochs = "three"\nseeds = [1, 2]\n')
    store = tmp / "store"
    assert main(["compare", "--dataset", "moons", "--subset", "100", "--epochs", "1", "--seeds", "1", "--acts", "relu",
                 "--width", "8", "--quiet", "--out", str(store)]) in (0, 3)  # 3: one epoch may not learn
    damaged = tmp / "damaged"
    damaged.mkdir()
    (damaged / "results.sqlite").write_bytes((store / "results.sqlite").read_bytes())
    connection = sqlite3.connect(damaged / "results.sqlite")
    connection.execute("DROP TABLE epochs")
    connection.commit()
    connection.close()
    return {"tmp": str(tmp), "dir": str(tmp / "adir"), "binary": str(tmp / "binary"),
            "binary_csv": str(tmp / "binary.csv"), "empty_csv": str(tmp / "empty.csv"),
            "text_csv": str(tmp / "text.csv"), "bad_npz": str(tmp / "bad.npz"),
            "binary_toml": str(tmp / "binary.toml"), "bad_toml": str(tmp / "bad.toml"),
            "unknown_key_toml": str(tmp / "unknown.toml"), "wrong_type_toml": str(tmp / "wrongtype.toml"),
            "missing": str(tmp / "no" / "such"), "store": str(store), "damaged_store": str(damaged)}


def _ids():
    for command, cases in CASES.items():
        for index, argv in enumerate(cases):
            yield pytest.param(command, argv, id=f"{command}-{index}-" + " ".join(a[:24] for a in argv[-2:]))


@pytest.fixture(autouse=True)
def _no_server_no_download(monkeypatch, tmp_path):
    """A hostile input must never start the playground's server (a bug would hang the suite) or download."""
    import uvicorn

    def refuse(*args, **kwargs):
        raise AssertionError("the playground's server was started")

    monkeypatch.setattr(uvicorn.Server, "run", refuse)
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ACTLAB_COMPILE", "0")


@pytest.mark.parametrize(("command", "argv"), list(_ids()))
def test_hostile_input_exit_2_with_a_message(places, capsys, command, argv):
    args = []
    for arg in argv:
        for key, value in places.items():
            arg = arg.replace("{" + key + "}", value)
        args.append(arg)
    code = main(args)
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text, text
    assert code == 2, f"exit {code}: {text[-2000:]}"
    message = " ".join(err.split())
    assert len(message) > 10, text
    assert not Path(places["tmp"], "pwned").exists()


UNUSABLE_CONFIG = [["list"], ["show", "relu"], ["eval", "relu", "--x", "1"], ["props", "relu", "--no-cost"],
                   ["define", "zz", "x**2"], ["selfnorm", "selu"], ["recommend"], ["data", "list"]]


@pytest.mark.parametrize("argv", UNUSABLE_CONFIG, ids=lambda a: " ".join(a))
def test_every_command_survives_an_uncheckable_saved_formulas_location(monkeypatch, capsys, tmp_path, argv):
    """A 300-character ACTLAB_CONFIG_DIR (and a saved-formulas lookup through it) is a warning, not a crash."""
    from actlab import resolve

    monkeypatch.setenv("ACTLAB_CONFIG_DIR", str(tmp_path / ("a" * 300)))
    monkeypatch.setitem(resolve._state, "saved", False)
    with pytest.warns(RuntimeWarning, match="saved-formulas"):
        assert main(["show", "no_such_saved_thing"]) == 2  # the lookup that reads the saved formulas
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def _run(argv, **env):
    environment = {**os.environ, "PYTHONPATH": SRC, "ACTLAB_COMPILE": "0", **env}
    return subprocess.run([sys.executable, "-m", "actlab.cli", *argv], env=environment, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("env", [{"ACTLAB_CONFIG_DIR": "/tmp/" + "a" * 300},
                                 {"ACTLAB_CONFIG_DIR": "", "HOME": "/etc/passwd", "XDG_CONFIG_HOME": ""}],
                         ids=["long-config-dir", "home-is-a-file"])
def test_real_processes_start_with_an_unusable_config_location(env):
    for argv in (["show", "nosuch"], ["define", "zz", "x**2", "--save"], ["list", "--json"]):
        done = _run(argv, **env)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        assert done.returncode in (0, 2), done.stderr
    assert _run(["list", "--json"], **env).returncode == 0


def test_real_processes_refuse_hostile_input(tmp_path):
    (tmp_path / "g.toml").write_bytes(b"\xfb")
    for argv in (["compare", "--config", str(tmp_path / "g.toml"), "--out", str(tmp_path / "o")],
                 ["eval", "__import__('os').system('touch " + str(tmp_path / "pwned") + "')", "--x", "1"],
                 ["playground", "--host", "not a host!"]):
        done = _run(argv)
        assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.strip(), done.stderr
    assert not (tmp_path / "pwned").exists()


# --- hostile data files: targets beyond float32, a quoted cell spanning lines, a million columns, a .npz that is
# no archive; through `data show` and `compare --dataset`
def test_hostile_data_files_exit_2_naming_the_problem(tmp_path, capsys):
    import numpy as np

    (tmp_path / "labels.csv").write_text("a,y\n1,0.5\n2,-1e39\n3,1.5\n4,2.5\n5,3.5\n")
    np.savez(tmp_path / "labels.npz", X=np.arange(5.0).reshape(-1, 1), y=np.array([0.5, 1e39, 1.5, 2.5, 3.5]))
    (tmp_path / "multi.csv").write_text('a,label\n"1\n2",0\n3,1\n4,0\n5,1\n')
    (tmp_path / "wide.csv").write_text(",".join(f"c{i}" for i in range(1_000_000)) + ",label\n" + "1," * 10 + "0\n")
    (tmp_path / "notzip.npz").write_bytes(b"hello")
    expected = {"labels.csv": "line 3, column 'y': label '-1e39' is beyond float32",
                "labels.npz": "y[1] is 1e+39, beyond float32", "multi.csv": "the quoted cell '1\\n2' spans lines",
                "wide.csv": "the header has 1000001 columns", "notzip.npz": "is not a valid .npz archive"}
    for name, message in expected.items():
        path = str(tmp_path / name)
        target = ["--target", "y"] if name == "labels.csv" else []
        for argv in (["data", "show", path, *target],
                     [*[a.replace("{tmp}", str(tmp_path)) for a in COMPARE], "--dataset", path, *target]):
            code = main(argv)
            out, err = capsys.readouterr()
            text = " ".join((out + err).split())
            assert code == 2 and message in text, (argv[:3], text[-500:])
            assert "Traceback" not in text and "allow_pickle" not in text
    assert not (tmp_path / "c" / "results.sqlite").exists()
