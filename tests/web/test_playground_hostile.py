"""Hostile input to the playground, through FastAPI's test client: deep JSON, unreadable CSV, float32 overflow,
a failing training step, one client's flood of sessions and formula checks."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from playground_helpers import open_session, receive

from actlab.web.app import create_app  # noqa: E402
from actlab.web.formulas import FairTurns  # noqa: E402
from actlab.web.guard import JSONTooDeep, loads  # noqa: E402
from actlab.web.limits import Limits  # noqa: E402
from actlab.web.sessions import DEFAULT_STATE  # noqa: E402

DEEP = "[" * 8000 + "]" * 8000


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Limits(formula_deadline_s=30.0))) as c:
        yield c


def test_loads_bounds_the_depth():
    assert loads('{"a": [[1, 2], ["[[[[", "}}"]]}') == {"a": [[1, 2], ["[[[[", "}}"]]}  # brackets in strings
    assert loads("[" * 32 + "]" * 32) is not None
    for text in (DEEP, "[" * 33 + "]" * 33, '{"a":' * 40 + "1" + "}" * 40, DEEP.encode()):
        with pytest.raises(JSONTooDeep, match="nested more than 32"):
            loads(text)


def test_deeply_nested_websocket_text_gets_an_error_and_the_socket_stays(client):
    ws, _ = open_session(client)
    try:
        ws.send_text(DEEP[:4000] + DEEP[-4000:])  # within the message size limit
        error = ws.receive_json()
        assert error["type"] == "error" and "nested more than" in error["message"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
    finally:
        ws.__exit__(None, None, None)


def test_deeply_nested_bodies_get_a_message_not_500(client):
    reply = client.post("/api/formula", content=DEEP[:7000] + DEEP[-7000:], headers={"content-type": "application/json"})
    assert reply.status_code == 422 and "nested more than" in reply.json()["detail"]
    ws, session = open_session(client)
    try:
        reply = client.post(f"/api/session/{session}/upload", content=DEEP, headers={"content-type": "application/json"})
        assert reply.status_code == 422 and "nested more than" in reply.json()["detail"]
    finally:
        ws.__exit__(None, None, None)


def test_a_csv_field_over_the_field_limit_is_a_clear_422(client):
    ws, session = open_session(client)
    try:
        text = "x1,x2,label\n" + "1,2,0\n" * 4 + "1,2," + "9" * 140_000 + "\n"
        reply = client.post(f"/api/session/{session}/upload", json={"csv": text})
        assert reply.status_code == 422 and "field limit" in reply.json()["detail"], reply.text
        ws.send_json({"type": "ping"})
        assert receive(ws, "pong")
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.slow
def test_a_formula_beyond_float32_is_refused_up_front(client):
    for formula in ("1e308*x", "x*4e38"):
        reply = client.post("/api/formula", json={"formula": formula})
        assert reply.status_code == 422 and "float32" in reply.json()["detail"], reply.text
    ws, _ = open_session(client)
    try:
        ws.send_json({"type": "state", "seq": 1, "state": {**DEFAULT_STATE, "layers": [["f:1e308*x", "tanh"]]}})
        error = receive(ws, "error")
        assert error["seq"] == 1 and error["field"] == "layers" and "float32" in error["message"]
        ws.send_json({"type": "step"})  # the session still trains the net it had
        assert receive(ws, "frame")["epoch"] == 1
    finally:
        ws.__exit__(None, None, None)


def test_a_failing_step_is_reported_and_the_socket_stays(client):
    ws, session_id = open_session(client)
    session = client.app.state.manager.get(session_id)

    def overflow():
        raise RuntimeError("value cannot be converted to type float without overflow")

    try:
        session.playground.step = overflow
        for kind in ("step", "play"):
            ws.send_json({"type": kind})
            error = receive(ws, "error")
            assert "training stopped" in error["message"] and "overflow" in error["message"]
            while receive(ws, "status")["playing"]:  # (play: its "playing" status may come first)
                pass
            assert not session.playing
        ws.send_json({"type": "ping"})
        assert receive(ws, "pong")
    finally:
        ws.__exit__(None, None, None)


def test_one_client_holds_only_its_share_of_sessions():
    app = create_app(Limits(max_sessions=4, max_sessions_per_client=2))
    with TestClient(app, client=("10.0.0.1", 1000)) as one, TestClient(app, client=("10.0.0.2", 1000)) as other:
        mine = [open_session(one)[0] for _ in range(2)]
        try:
            with one.websocket_connect("/ws") as refused:
                error = refused.receive_json()
                assert error["type"] == "error" and "from this address" in error["message"]
            theirs, _ = open_session(other)  # the other client still gets one
            theirs.__exit__(None, None, None)
        finally:
            for ws in mine:
                ws.__exit__(None, None, None)


def test_one_client_waits_for_at_most_its_share_of_formula_checks():
    import httpx

    app = create_app(Limits(max_formula_checks_per_client=2))
    release = threading.Event()
    started = []

    def slow_check(text, client=None):  # stands in for the worker process: holds its turn until released
        started.append((text, client))
        release.wait(10)
        return {"formula": text, "x": [], "f": [], "df": []}

    app.state.checker.check = slow_check

    async def scenario():
        flood = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.1", 1)), base_url="http://127.0.0.1:8000")
        user = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.2", 1)), base_url="http://127.0.0.1:8000")
        waiting = [asyncio.create_task(flood.post("/api/formula", json={"formula": f"x*{i}"})) for i in range(2)]
        await asyncio.sleep(0.3)
        refused = await flood.post("/api/formula", json={"formula": "x*9"})
        mine = asyncio.create_task(user.post("/api/formula", json={"formula": "x+1"}))
        await asyncio.sleep(0.3)
        release.set()
        replies = await asyncio.gather(*waiting, mine)
        await flood.aclose()
        await user.aclose()
        return refused, replies

    refused, replies = asyncio.run(scenario())
    assert refused.status_code == 429 and "already waiting" in refused.json()["detail"]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert ("x+1", "10.0.0.2") in started


def test_fair_turns_alternate_between_clients():
    turns, order = FairTurns(), []
    hold = threading.Event()

    def job(client, name, first=False):
        with turns.turn(client):
            order.append(name)
            if first:
                hold.wait(5)

    first = threading.Thread(target=job, args=("flood", "f0", True))
    first.start()
    time.sleep(0.1)
    threads = []
    for i in range(1, 6):  # the flood queues five more, then the user one
        threads.append(threading.Thread(target=job, args=("flood", f"f{i}")))
        threads[-1].start()
        time.sleep(0.05)
    threads.append(threading.Thread(target=job, args=("user", "u")))
    threads[-1].start()
    time.sleep(0.1)
    hold.set()
    for thread in [first, *threads]:
        thread.join(5)
    assert order.index("u") <= 2, order  # after at most one more of the flood's, not after all five
    assert sorted(order) == sorted(["f0", "f1", "f2", "f3", "f4", "f5", "u"])
