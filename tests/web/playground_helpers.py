"""Helpers shared by the playground's API tests: open a WebSocket session, wait for a message kind."""
from __future__ import annotations


def open_session(client):
    """A new session's socket and id, after its hello, its data and its first frame (epoch 0)."""
    ws = client.websocket_connect("/ws").__enter__()
    hello = ws.receive_json()
    assert hello["type"] == "hello"
    assert ws.receive_json()["type"] == "data"
    first = ws.receive_json()
    assert first["type"] == "frame" and first["epoch"] == 0
    return ws, hello["session"]


def receive(ws, kind):
    """The next message of ``kind`` within 20 messages."""
    for _ in range(20):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")
