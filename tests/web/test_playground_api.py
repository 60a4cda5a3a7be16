"""The playground's HTTP API and WebSocket, through FastAPI's test client."""
from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from playground_helpers import open_session, receive

from actlab.web.app import create_app  # noqa: E402
from actlab.web.formulas import FormulaChecker, FormulaProblem  # noqa: E402
from actlab.web.limits import Limits  # noqa: E402
from actlab.web.sessions import DEFAULT_STATE, SessionManager  # noqa: E402
from actlab.web.trainer import PlayError, parse_csv  # noqa: E402

SMALL = Limits(max_sessions=2, max_layers=3, max_neurons=5, max_message_bytes=4000, burst_messages=30,
               max_messages_per_s=5.0)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(SMALL)) as c:
        yield c


def test_activations_list(client):
    body = client.get("/api/activations").json()
    names = {a["name"] for a in body}
    assert {"relu", "tanh", "gelu", "sigmoid"} <= names
    silu = next(a for a in body if a["name"] == "silu")
    assert "swish" in silu["aliases"] and "x" in silu["formula"]


def test_activation_detail_has_samples_and_properties(client):
    body = client.get("/api/activation/tanh").json()
    assert len(body["x"]) == len(body["f"]) == len(body["df"])
    assert body["properties"]["range_max"] == pytest.approx(1.0)
    assert client.get("/api/activation/no_such_thing").status_code == 404
    assert client.get("/api/activation/x*2").status_code == 404  # a formula is not a name: it goes through the checker
    assert client.get("/api/activation/SWISH").json()["name"] == "silu"
    assert client.get("/api/activation/softmax").status_code == 422  # not elementwise


def test_formula_ok_and_derivative_right(client):
    r = client.post("/api/formula", json={"formula": "x*sigmoid(x)"})
    assert r.status_code == 200
    body = r.json()
    import math
    for x, f, df in zip(body["x"], body["f"], body["df"]):
        s = 1 / (1 + math.exp(-x))
        assert f == pytest.approx(x * s, abs=1e-9)
        assert df == pytest.approx(s + x * s * (1 - s), abs=1e-9)


@pytest.mark.parametrize("formula, words", [
    ("x+", "syntax"),
    ("foo(x)", "foo"),
    ("a*x", "'a'"),
    ("x" * 300, "limit"),
    ("", "empty"),
    (12, "string"),
])
def test_formula_422_names_the_problem(client, formula, words):
    r = client.post("/api/formula", json={"formula": formula})
    assert r.status_code == 422
    assert words in r.json()["detail"]


def test_formula_bad_bodies(client):
    assert client.post("/api/formula", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/api/formula", json={"nope": 1}).status_code == 422
    assert client.post("/api/formula", json={"formula": "x" * 10_000}).status_code == 413


@pytest.mark.slow
def test_formula_deadline_kills_a_slow_worker():
    checker = FormulaChecker(deadline=0.001)  # no real formula builds this fast
    checker.start()
    try:
        with pytest.raises(FormulaProblem, match="longer than"):
            checker.check("x*tanh(softplus(x))*sin(x)")
        assert checker._process is None  # killed; the next check starts a fresh worker
        checker.deadline = 10
        assert checker.check("tanh(x)")["formula"]
    finally:
        checker.close()


def test_websocket_step_trains_and_frames(client):
    ws, _ = open_session(client)
    try:
        losses = []
        for _ in range(15):
            ws.send_json({"type": "step"})
            frame = receive(ws, "frame")
            losses.append(frame["nets"][0]["train_loss"])
        assert frame["epoch"] == 15
        assert losses[-1] < losses[0]
        net = frame["nets"][0]
        assert len(net["neurons"]) == 2 and len(net["neurons"][0]) == 4
        assert len(net["weights"]) == 3  # 2 → 4 → 4 → 1
        assert len(net["flow"]) == 2 and 0 <= net["flow"][0]["saturated"] <= 1
    finally:
        ws.__exit__(None, None, None)


def test_malformed_and_oversized_messages_get_errors(client):
    ws, _ = open_session(client)
    try:
        ws.send_text("{bad json")
        assert "not valid JSON" in receive(ws, "error")["message"]
        ws.send_text("[1, 2]")
        assert "type" in receive(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "state", "state": {"dataset": "circle", "pad": "x" * 5000}}))
        assert "too large" in receive(ws, "error")["message"]
        ws.send_json({"type": "launch_missiles"})
        assert "launch_missiles" in receive(ws, "error")["message"]
        ws.send_bytes(b"\x00\x01")
        assert "binary" in receive(ws, "error")["message"]
        ws.send_json({"type": "ping"})  # and the session still works
        assert receive(ws, "pong")["type"] == "pong"
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.parametrize("change, words", [
    ({"layers": [["tanh"]] * 4}, "at most 3"),
    ({"layers": [["tanh"] * 6]}, "1 to 5"),
    ({"lr": 50}, "lr"),
    ({"batch": 0}, "batch"),
    ({"ratio": 95}, "ratio"),
    ({"noise": "lots"}, "noise"),
    ({"dataset": "mnist"}, "dataset"),
    ({"features": ["x3"]}, "x3"),
    ({"features": []}, "features"),
    ({"layers": [["softmax"]]}, "elementwise"),
    ({"layers": [["relux"]]}, "relux"),
    ({"layers": [["x*2"]]}, "formula box"),  # a bare formula would skip the deadline-checked worker
    ({"layers": [["f:x+"]]}, "syntax"),
    ({"layers": [["f:" + "x" * 300]]}, "longer than"),
    ({"evil": 1}, "evil"),
    ({"compare": "nope"}, "nope"),
])
def test_state_limits_enforced(client, change, words):
    ws, _ = open_session(client)
    try:
        ws.send_json({"type": "state", "state": {**DEFAULT_STATE, **change}})
        error = receive(ws, "error")
        assert words in error["message"]
        ws.send_json({"type": "state", "state": DEFAULT_STATE})  # the session keeps working
        assert receive(ws, "state_ok")["change"] == "settings"
    finally:
        ws.__exit__(None, None, None)


def test_state_change_rebuilds_and_formula_unit_trains(client):
    ws, _ = open_session(client)
    try:
        state = {**DEFAULT_STATE, "layers": [["relu", "f:x*sigmoid(x)", "tanh"]], "compare": "relu", "dataset": "xor"}
        ws.send_json({"type": "state", "state": state})
        data = receive(ws, "data")
        assert data["state"]["layers"] == state["layers"] and data["data"]["name"] == "xor"
        ws.send_json({"type": "step"})
        frame = receive(ws, "frame")
        assert len(frame["nets"]) == 2  # side by side
        assert frame["nets"][0]["feature_space"]["dims"] == 3
        assert frame["nets"][0]["train_loss"] != frame["nets"][1]["train_loss"]
    finally:
        ws.__exit__(None, None, None)


def test_playing_does_not_block_the_event_loop():
    with TestClient(create_app()) as client:
        _check_event_loop_free(client)


def _check_event_loop_free(client):
    ws, _ = open_session(client)
    try:
        # a slow epoch: batch size 1 over 6 layers of 8 units
        ws.send_json({"type": "state", "state": {**DEFAULT_STATE, "layers": [["tanh"] * 8] * 6, "batch": 1}})
        receive(ws, "state_ok")
        ws.send_json({"type": "play"})
        receive(ws, "frame")
        start = time.perf_counter()
        receive(ws, "frame")
        epoch_time = time.perf_counter() - start
        times = []
        for _ in range(5):  # the HTTP API answers while the net trains in a worker thread
            start = time.perf_counter()
            assert client.get("/api/limits").status_code == 200
            times.append(time.perf_counter() - start)
        ws.send_json({"type": "pause"})
        assert sorted(times)[2] < 0.5 * epoch_time, (times, epoch_time)
    finally:
        ws.__exit__(None, None, None)


def test_rate_limit():
    with TestClient(create_app(Limits(burst_messages=5, max_messages_per_s=0.05))) as c:
        ws, _ = open_session(c)
        try:
            for _ in range(8):
                ws.send_json({"type": "ping"})
            kinds = [ws.receive_json()["type"] for _ in range(8)]
            assert kinds.count("pong") == 5 and kinds.count("error") == 3
        finally:
            ws.__exit__(None, None, None)


def test_two_sessions_are_isolated_and_capped(client):
    a, sid_a = open_session(client)
    b, sid_b = open_session(client)
    try:
        assert sid_a != sid_b
        for _ in range(3):
            a.send_json({"type": "step"})
            assert receive(a, "frame")["epoch"] >= 1
        b.send_json({"type": "step"})
        assert receive(b, "frame")["epoch"] == 1  # b has not seen a's three epochs
        b.send_json({"type": "state", "state": {**DEFAULT_STATE, "dataset": "spiral"}})
        assert receive(b, "data")["data"]["name"] == "spiral"
        a.send_json({"type": "step"})
        assert receive(a, "frame")["epoch"] == 4
        # a third tab is over the limit of 2
        with client.websocket_connect("/ws") as c:
            error = c.receive_json()
            assert error["type"] == "error" and "too many" in error["message"]
        # a's export is a's net, not b's
        assert client.get(f"/api/session/{sid_a}/model.py").status_code == 200
        assert client.get("/api/session/0000/model.pt").status_code == 404
        for part in ("model.pt", "model.py"):  # a net the session does not have
            missing = client.get(f"/api/session/{sid_a}/{part}?net=5")
            assert missing.status_code == 404 and "no net 5" in missing.text
    finally:
        a.__exit__(None, None, None)
        b.__exit__(None, None, None)


def test_upload_csv_and_export(client):
    import io

    import torch

    ws, sid = open_session(client)
    try:
        rows = "x1,x2,label\n" + "\n".join(f"{i / 10 - 2},{(i % 7) / 3 - 1},{int(i % 2)}" for i in range(40))
        r = client.post(f"/api/session/{sid}/upload", json={"csv": rows})
        assert r.status_code == 200 and r.json() == {"points": 40, "task": "classification"}
        data = receive(ws, "data")
        assert data["state"]["dataset"] == "upload" and len(data["data"]["train"]) == 20
        bad = client.post(f"/api/session/{sid}/upload", json={"csv": "1,2\n3,4\n"})
        assert bad.status_code == 422 and "3 columns" in bad.json()["detail"]
        big = client.post(f"/api/session/{sid}/upload", json={"csv": "1,2,0\n" * 40_000})
        assert big.status_code == 413
        weights = client.get(f"/api/session/{sid}/model.pt")
        state_dict = torch.load(io.BytesIO(weights.content))
        assert state_dict["0.weight"].shape == (4, 2)
        code = client.get(f"/api/session/{sid}/model.py").text
        assert "PerNeuron" in code and "load_state_dict" in code
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.parametrize("dataset", ["circle", "xor", "gaussian", "spiral", "periodic", "linear", "plane", "multi_gaussian"])
def test_every_dataset_trains(dataset):
    from actlab.web.trainer import Playground, Settings, make_data

    data = make_data(dataset, n=200, noise=10, ratio=50, seed=1)
    assert len(data.x_train) + len(data.x_test) + (0 if data.x_extra is None else len(data.x_extra)) == 200
    assert data.task == ("regression" if dataset in ("plane", "multi_gaussian") else "classification")
    if dataset in ("periodic", "linear"):  # the extrapolation region is never trained on
        low, high = data.extrapolation
        assert len(data.x_extra) > 0 and bool(((data.x_train[:, 0] > low) & (data.x_train[:, 0] < high)).all())
    play = Playground(data, Settings(learning_rate=0.1, layers=() if dataset == "gaussian" else Settings.layers))
    first = play.runs[0].history[-1][1]
    for _ in range(20):
        play.step()
    assert play.runs[0].history[-1][1] < first
    frame = play.frame()
    assert ("extra_loss" in frame["nets"][0]) == (dataset in ("periodic", "linear"))


def test_parse_csv_errors_name_the_row():
    with pytest.raises(PlayError, match="row 3"):
        parse_csv("1,2,0\n2,3,1\n1,x,0\n4,4,1\n", max_points=100)
    with pytest.raises(PlayError, match="at least 4"):
        parse_csv("1,2,0\n", max_points=100)
    with pytest.raises(PlayError, match="more than 5"):
        parse_csv("1,2,0\n" * 10, max_points=5)
    with pytest.raises(PlayError, match="finite"):
        parse_csv("1,2,0\n1,inf,1\n1,2,0\n1,2,1\n", max_points=10)
    reg = parse_csv("0,0,0.5\n1,1,2.5\n2,2,1.5\n3,3,0.1\n", max_points=10)
    assert reg.task == "regression"


def test_idle_sessions_expire():
    manager = SessionManager(Limits(idle_timeout_s=10))
    session = manager.create()
    assert manager.expired(now=session.last_seen + 5) == []
    assert manager.expired(now=session.last_seen + 11) == [session]
    session.touch()
    assert manager.expired(now=time.monotonic() + 1) == []


@pytest.mark.slow
def test_idle_session_closed_by_server():
    with TestClient(create_app(Limits(idle_timeout_s=3))) as c:
        with c.websocket_connect("/ws") as ws:
            assert len(c.app.state.manager.sessions) == 1
            kinds = []
            while True:  # hello, data, frame, then (after 3 s of silence) the idle error
                message = ws.receive_json()
                kinds.append(message["type"])
                if message["type"] == "error":
                    break
            assert kinds == ["hello", "data", "frame", "error"] and "idle" in message["message"]
        assert c.app.state.manager.sessions == {}


# ------------------------------------------------------------------ state versions (seq)
def test_state_answers_carry_the_page_version(client):
    ws, _ = open_session(client)
    try:
        ws.send_json({"type": "state", "seq": 7, "state": {**DEFAULT_STATE, "lr": 0.1, "features": ["x2", "x1"]}})
        ok = receive(ws, "state_ok")
        assert ok["seq"] == 7 and ok["change"] == "settings"
        assert ok["state"]["lr"] == 0.1 and ok["state"]["features"] == ["x1", "x2"]  # what the server runs, canonical
        ws.send_json({"type": "state", "seq": 8, "state": {**DEFAULT_STATE, "lr": 0.1, "dataset": "xor"}})
        data = receive(ws, "data")
        assert data["seq"] == 8 and data["state"]["dataset"] == "xor"
        assert receive(ws, "state_ok")["seq"] == 8
        ws.send_json({"type": "state", "seq": 9, "state": {**DEFAULT_STATE, "noise": 99}})
        error = receive(ws, "error")
        assert error["seq"] == 9 and error["field"] == "noise"
        ws.send_json({"type": "state", "seq": "ten", "state": DEFAULT_STATE})  # a nonsense seq is ignored
        ok = receive(ws, "state_ok")
        assert "seq" not in ok and ok["state"]["dataset"] == "circle"
    finally:
        ws.__exit__(None, None, None)


def test_a_state_dropped_by_the_rate_limit_is_named():
    with TestClient(create_app(Limits(burst_messages=1, max_messages_per_s=0.05))) as c:
        ws, _ = open_session(c)
        try:
            ws.send_json({"type": "ping"})
            ws.send_json({"type": "state", "seq": 3, "state": DEFAULT_STATE})
            error = receive(ws, "error")
            assert error["seq"] == 3 and error["retry"] is True and "too many" in error["message"]
        finally:
            ws.__exit__(None, None, None)


def test_a_refused_rebuild_keeps_the_running_state(monkeypatch):
    from actlab.web import sessions

    session = sessions.Session(SMALL)
    session.reset(regenerate=True)
    before, data, playground = dict(session.state), session.data, session.playground

    def refuse(*args, **kwargs):
        raise PlayError("no")

    monkeypatch.setattr(sessions, "Playground", refuse)
    with pytest.raises(PlayError):
        session.apply({**before, "dataset": "xor"})
    assert session.state == before and session.data is data and session.playground is playground
