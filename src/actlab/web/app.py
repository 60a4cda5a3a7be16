"""The playground's web app: static page, a small JSON API and one WebSocket per tab.

``create_app()`` builds the FastAPI app.  HTTP:

* ``GET /`` the page; ``/static/*`` its ES modules and CSS (shipped in the package)
* ``GET /api/activations`` every catalog entry: name, aliases, formula, kind, …
* ``GET /api/activation/{name}`` f and f′ samples and the property table
* ``POST /api/formula`` ``{"formula": "..."}`` → 200 samples, or 422 naming the problem
* ``GET /api/limits``
* ``POST /api/session/{id}/upload`` ``{"csv": "..."}`` → 200, or 422 naming the problem
* ``GET /api/session/{id}/model.pt`` / ``model.py`` the trained net's state_dict and a rebuild snippet

WebSocket ``/ws``: the server says ``hello`` (the session id), then the page
sends ``state`` / ``play`` / ``pause`` / ``step`` / ``reset`` / ``regenerate`` /
``ping`` messages and receives ``data``, ``frame`` and ``error`` messages.
A ``state`` message may carry ``seq`` (a whole number, the page's version of its
state); the server answers every state message in order, with the same ``seq``:
``state_ok`` (with the state it now runs) or ``error`` (with the refused
``field`` when it is one field; ``retry: true`` when the rate limit dropped the
message unread), and tags the ``data`` message the change caused with it.
Training runs in worker threads, never on the event loop; a step that fails
(e.g. a net that overflows) stops playing and is reported as an ``error``.

Only the server's own page may use it (:mod:`actlab.web.guard`: a foreign
``Host`` or ``Origin`` gets 403, a WebSocket before the upgrade).  Each client
address holds at most ``max_sessions_per_client`` sessions and has at most
``max_formula_checks_per_client`` formula checks waiting (429 beyond); checks
take turns round-robin between clients.  Request bodies are read as a stream and
refused (413) as soon as they pass their limit; JSON nested more than
:data:`~actlab.web.guard.MAX_JSON_DEPTH` levels is refused.
"""
from __future__ import annotations

import asyncio
import csv
import io
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

import actlab
from actlab.web.formulas import FormulaChecker, FormulaProblem, sample_spec
from actlab.web.guard import ClientSlots, HostOriginGuard, host_names, loads
from actlab.web.limits import DEFAULT_LIMITS, Limits
from actlab.web.messages import STEP_ERRORS, _clean, _client, _seq, _state_seq, read_json
from actlab.web.sessions import Session, SessionManager, StateError, validate_state
from actlab.web.trainer import PlayError, parse_csv, registered

__all__ = ["create_app", "STATIC"]

STATIC = resources.files("actlab.web") / "static"


def create_app(limits: Limits = DEFAULT_LIMITS, *, workers: int = 2, names: frozenset[str] | None = None) -> FastAPI:
    """The playground app. ``workers`` threads train the sessions' nets.

    ``names``: the host names the server answers to (:func:`actlab.web.guard.host_names`;
    by default the loopback names).
    """
    import torch

    torch.set_num_threads(1)  # small nets: threads only fight each other
    manager = SessionManager(limits)
    checker = FormulaChecker(deadline=limits.formula_deadline_s, max_length=limits.max_formula_length)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="actlab-train")
    # formula checks wait for their turn in threads of their own (never in the training threads); each client
    # has at most its share waiting, so these threads are enough for the clients the sessions allow
    formula_executor = ThreadPoolExecutor(max_workers=limits.max_sessions + 2 * limits.max_formula_checks_per_client,
                                          thread_name_prefix="actlab-formula")
    formula_slots = ClientSlots(limits.max_formula_checks_per_client)
    sockets: dict[str, WebSocket] = {}
    property_cache: dict[str, Any] = {}

    async def in_thread(function, *args):
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)

    async def reaper() -> None:
        while True:
            await asyncio.sleep(min(5.0, limits.idle_timeout_s / 2))
            for session in manager.expired():
                session.playing = False
                manager.remove(session.id)
                socket = sockets.pop(session.id, None)
                if socket is not None:
                    try:
                        await socket.send_json({"type": "error", "message": "session closed after being idle; reload the page"})
                        await socket.close(code=4000)
                    except Exception:  # the socket may already be gone
                        pass

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        warm = asyncio.get_running_loop().run_in_executor(None, checker.start)
        task = asyncio.create_task(reaper())
        try:
            yield
        finally:
            task.cancel()
            checker.close()  # also stops a worker still starting
            await asyncio.gather(warm, return_exceptions=True)
            executor.shutdown(wait=False, cancel_futures=True)
            formula_executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="actlab playground", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.manager = manager
    app.state.limits = limits
    app.state.checker = checker
    app.add_middleware(HostOriginGuard, names=host_names() if names is None else names)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-store"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/api/limits")
    async def get_limits() -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(limits)

    @app.get("/api/activations")
    async def activations() -> list[dict[str, Any]]:
        return [
            {"name": s.name, "aliases": list(s.aliases), "formula": s.formula, "derivative_formula": s.derivative_formula,
             "family": s.family, "kind": s.kind, "summary": s.summary, "trainable": s.trainable}
            for s in actlab.all_specs() if s.source == "catalog"
        ]

    @app.get("/api/activation/{name}")
    async def activation(name: str) -> dict[str, Any]:
        try:
            spec = registered(name)  # never builds a formula here (formulas go through the checker)
        except PlayError as error:
            raise HTTPException(404, str(error)) from None
        if spec.kind != "elementwise":
            raise HTTPException(422, f"{spec.name} is a {spec.kind} activation; a neuron needs an elementwise one")
        if spec.name not in property_cache:
            def compute():
                props = actlab.properties(spec, measure_cost=False).to_dict()
                return {"name": spec.name, "formula": spec.formula, "derivative_formula": spec.derivative_formula,
                        "properties": props, **sample_spec(spec)}
            property_cache[spec.name] = _clean(await in_thread(compute))
        return property_cache[spec.name]

    @app.post("/api/formula")
    async def formula(request: Request) -> dict[str, Any]:
        body = await read_json(request, limits.max_message_bytes)
        if not isinstance(body, dict) or "formula" not in body:
            raise HTTPException(422, 'send {"formula": "..."}')
        cached = checker.cached(body["formula"])
        if cached is not None:
            return _clean(cached)
        client = _client(request)
        if not formula_slots.take(client):
            raise HTTPException(429, f"{limits.max_formula_checks_per_client} formula checks from this address are "
                                     "already waiting; try again when they are answered", headers={"Retry-After": "1"})
        try:
            description = await asyncio.get_running_loop().run_in_executor(
                formula_executor, checker.check, body["formula"], client)
        except FormulaProblem as error:
            raise HTTPException(422, str(error)) from None
        finally:
            formula_slots.give(client)
        return _clean(description)

    def session_or_404(session_id: str) -> Session:
        session = manager.get(session_id)
        if session is None:
            raise HTTPException(404, "no such session (it may have been closed; reload the page)")
        return session

    @app.post("/api/session/{session_id}/upload")
    async def upload(session_id: str, request: Request) -> dict[str, Any]:
        session = session_or_404(session_id)
        body = await read_json(request, limits.max_upload_bytes + 1024)
        if not isinstance(body, dict) or not isinstance(body.get("csv"), str):
            raise HTTPException(422, 'send {"csv": "x1,x2,label rows"}')
        if len(body["csv"].encode()) > limits.max_upload_bytes:
            raise HTTPException(413, f"the CSV is larger than {limits.max_upload_bytes} bytes")
        session.touch()

        def load():
            data = parse_csv(body["csv"], max_points=limits.max_points, ratio=session.state["ratio"], seed=session.state["seed"])
            with session.lock:
                session.playing = False
                session.set_upload(data)
                return session.data_message(), session.frame()

        try:
            message, frame = await in_thread(load)
        except PlayError as error:
            raise HTTPException(422, str(error)) from None
        except csv.Error as error:  # e.g. a field longer than the csv module's field limit
            raise HTTPException(422, f"the CSV cannot be read: {error}") from None
        socket = sockets.get(session_id)
        if socket is not None:
            await socket.send_json(_clean(message))
            await socket.send_json(_clean({"type": "frame", "playing": False, **frame}))
        return {"points": len(session.data.x_train) + len(session.data.x_test), "task": session.data.task}

    def exported(session_id: str, net: int) -> tuple[Any, str]:
        """Net ``net`` of a session as (state_dict, rebuild snippet); 404 for an unknown session or net."""
        session = session_or_404(session_id)
        with session.lock:
            if not 0 <= net < len(session.playground.runs):
                raise HTTPException(404, f"no net {net} in this playground session")
            return session.playground.export(net)

    @app.get("/api/session/{session_id}/model.pt")
    async def model_weights(session_id: str, net: int = 0) -> Response:
        import torch

        state_dict, _ = exported(session_id, net)
        buffer = io.BytesIO()
        torch.save(state_dict, buffer)
        return Response(buffer.getvalue(), media_type="application/octet-stream",
                        headers={"Content-Disposition": 'attachment; filename="model.pt"'})

    @app.get("/api/session/{session_id}/model.py")
    async def model_code(session_id: str, net: int = 0) -> Response:
        _, code = exported(session_id, net)
        return Response(code, media_type="text/x-python", headers={"Content-Disposition": 'attachment; filename="model.py"'})

    # ------------------------------------------------------------------ WebSocket
    @app.websocket("/ws")
    async def websocket(socket: WebSocket) -> None:
        await socket.accept()
        client = _client(socket)
        session = manager.create(client)
        if session is None:
            share = min(limits.max_sessions_per_client, limits.max_sessions)
            if manager.count(client) >= share:
                why = f"too many open sessions from this address (its share is {share} of {limits.max_sessions}); close a tab"
            else:
                why = f"too many open sessions (the limit is {limits.max_sessions}); close a tab"
            await socket.send_json({"type": "error", "message": why})
            await socket.close(code=1013)
            return
        sockets[session.id] = socket
        send_lock = asyncio.Lock()
        player: asyncio.Task | None = None

        async def send(message: dict[str, Any]) -> None:
            async with send_lock:
                await socket.send_json(_clean(message))

        async def error(message: str, field: str | None = None, seq: int | None = None, **extra: Any) -> None:
            reply = {"type": "error", "message": message, "field": field, **extra}
            if seq is not None:
                reply["seq"] = seq
            await send(reply)

        def locked(function):
            def run():
                with session.lock:
                    return function()
            return run

        async def stopped(problem: Exception) -> None:
            """A step failed: stop playing and say so (the page shows the message)."""
            session.playing = False
            await error(f"training stopped: {problem}; change the net or press reset")
            await send({"type": "status", "playing": False})

        async def play_loop() -> None:
            period = 1.0 / limits.max_fps
            loop = asyncio.get_running_loop()
            while session.playing:
                start = loop.time()

                def one():
                    if not session.playing:
                        return None
                    session.playground.step()
                    return session.frame()

                try:
                    frame = await in_thread(locked(one))
                except STEP_ERRORS as problem:
                    await stopped(problem)
                    break
                if frame is None:
                    break
                await send({"type": "frame", "playing": session.playing, **frame})
                await asyncio.sleep(max(0.0, period - (loop.time() - start)))

        try:
            await in_thread(locked(lambda: session.reset(regenerate=True)))
            await send({"type": "hello", "session": session.id, "limits": await get_limits()})
            message = await in_thread(locked(session.data_message))
            await send(message)
            await send({"type": "frame", "playing": False, **await in_thread(locked(session.frame))})
            session.touch()  # idle time counts from here, not from before the first data set was built
            while True:
                raw = await socket.receive()
                if raw["type"] == "websocket.disconnect":
                    break
                text = raw.get("text")
                if text is None and raw.get("bytes") is not None:
                    await error("send JSON text messages, not binary")
                    continue
                session.touch()
                if not session.bucket.take():
                    # a dropped state message is named, so that the page sends its newest state again
                    await error("too many messages; slow down", seq=_state_seq(text, limits.max_message_bytes), retry=True)
                    continue
                if len(text.encode()) > limits.max_message_bytes:
                    await error(f"message too large ({len(text.encode())} bytes; the limit is {limits.max_message_bytes})")
                    continue
                try:
                    message = loads(text)
                except ValueError as problem:
                    await error(f"message is not valid JSON ({problem})")
                    continue
                if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                    await error('a message is an object with a "type"')
                    continue
                kind = message["type"]
                if kind == "ping":
                    await send({"type": "pong"})
                elif kind == "state":
                    seq = _seq(message.get("seq"))
                    try:
                        state = await asyncio.get_running_loop().run_in_executor(
                            formula_executor, validate_state, message.get("state"), limits,
                            lambda text: checker.check(text, client), session.upload is not None)
                    except StateError as problem:
                        await error(str(problem), problem.field, seq)
                        continue

                    def apply(state=state):
                        change = session.apply(state)
                        return change, (session.data_message() if change != "settings" else None), session.frame()

                    try:
                        change, data_message, frame = await in_thread(locked(apply))
                    except STEP_ERRORS as problem:  # e.g. a data set the loader refuses, a net that cannot be built
                        await error(str(problem), None, seq)
                        continue
                    if data_message is not None:
                        await send({**data_message, "seq": seq} if seq is not None else data_message)
                        await send({"type": "frame", "playing": session.playing, **frame})
                    ok = {"type": "state_ok", "change": change, "state": session.state}
                    await send({**ok, "seq": seq} if seq is not None else ok)
                elif kind in ("play", "pause"):
                    session.playing = kind == "play"
                    if session.playing and (player is None or player.done()):
                        player = asyncio.create_task(play_loop())
                    await send({"type": "status", "playing": session.playing})
                elif kind in ("step", "reset", "regenerate"):
                    def act(kind=kind):
                        if kind == "step":
                            session.playground.step()
                            return None, session.frame()
                        session.reset(regenerate=kind == "regenerate")
                        return session.data_message(), session.frame()

                    if kind != "step":
                        session.playing = False
                    try:
                        data_message, frame = await in_thread(locked(act))
                    except STEP_ERRORS as problem:
                        await stopped(problem)
                        continue
                    if data_message is not None:
                        await send(data_message)
                    await send({"type": "frame", "playing": session.playing, **frame})
                else:
                    await error(f"unknown message type {kind!r}")
        except WebSocketDisconnect:
            pass
        finally:
            session.playing = False
            if player is not None:
                player.cancel()
            manager.remove(session.id)
            sockets.pop(session.id, None)

    return app
