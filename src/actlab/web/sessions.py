"""One isolated playground session per browser tab: its state, its nets, its limits.

:func:`validate_state` turns what the browser sends into checked settings (every
number clamped to the page's ranges is *refused* instead when out of range, with
a message naming the field); :class:`Session` holds one tab's
:class:`~actlab.web.trainer.Playground`; :class:`SessionManager` caps how many
exist and closes idle ones.
"""
from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from actlab.web.limits import Limits
from actlab.web.trainer import DATASETS, FEATURES, PlayData, PlayError, Playground, Settings, make_data, resolve_unit

__all__ = ["StateError", "DEFAULT_STATE", "validate_state", "Session", "SessionManager", "TokenBucket"]

LOSSES = ("cross_entropy", "squared")
REGULARIZATIONS = ("none", "l1", "l2")
CLIENT_ONLY = {"discretize", "showTest", "panel", "unit"}  # view options the server ignores

DEFAULT_STATE: dict[str, Any] = {
    "dataset": "circle", "noise": 0, "ratio": 50, "batch": 10, "lr": 0.03, "reg": "none", "regRate": 0.0,
    "features": ["x1", "x2"], "layers": [["tanh"] * 4, ["tanh"] * 4], "loss": "cross_entropy",
    "compare": None, "seed": 0,
}


class StateError(ValueError):
    """A state the server refuses; ``field`` names the offending key."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _number(state, key, low, high, integer=False):
    value = state.get(key, DEFAULT_STATE[key])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StateError(f"{key} must be a number, got {value!r}", key)
    if integer and value != int(value):
        raise StateError(f"{key} must be a whole number, got {value!r}", key)
    if not low <= value <= high:
        raise StateError(f"{key} = {value!r} is outside its range [{low:g}, {high:g}]", key)
    return int(value) if integer else float(value)


def _choice(state, key, options):
    value = state.get(key, DEFAULT_STATE[key])
    if value not in options:
        raise StateError(f"{key} must be one of {', '.join(map(str, options))}, got {value!r}", key)
    return value


def validate_state(raw: Any, limits: Limits, check_formula=None, has_upload: bool = False) -> dict[str, Any]:
    """The browser's state, checked against ``limits``; returns a clean copy.

    ``check_formula(text)`` validates a typed formula (raises on a bad one);
    activations are checked against the catalog here.
    """
    if not isinstance(raw, dict):
        raise StateError(f"the state must be an object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(DEFAULT_STATE) - CLIENT_ONLY)
    if unknown:
        raise StateError(f"unknown state field(s): {', '.join(map(str, unknown))}", unknown[0])
    datasets = DATASETS + (("upload",) if has_upload else ())
    state = {
        "dataset": _choice(raw, "dataset", datasets),
        "noise": _number(raw, "noise", 0, 50),
        "ratio": _number(raw, "ratio", 10, 90),
        "batch": _number(raw, "batch", 1, 30, integer=True),
        "lr": _number(raw, "lr", 1e-5, 10),
        "reg": _choice(raw, "reg", REGULARIZATIONS),
        "regRate": _number(raw, "regRate", 0, 10),
        "loss": _choice(raw, "loss", LOSSES),
        "seed": _number(raw, "seed", 0, 2**31 - 1, integer=True),
    }
    features = raw.get("features", DEFAULT_STATE["features"])
    if not isinstance(features, list) or not features or len(features) > len(FEATURES):
        raise StateError("features must be a non-empty list of feature names", "features")
    for name in features:
        if name not in FEATURES:
            raise StateError(f"unknown feature {name!r}; the features are {', '.join(FEATURES)}", "features")
    if len(set(features)) != len(features):
        raise StateError("features must not repeat", "features")
    state["features"] = [f for f in FEATURES if f in features]  # canonical order
    layers = raw.get("layers", DEFAULT_STATE["layers"])
    if not isinstance(layers, list) or len(layers) > limits.max_layers:
        raise StateError(f"layers must be a list of at most {limits.max_layers} hidden layers", "layers")
    distinct: set[str] = set()
    for index, units in enumerate(layers):
        if not isinstance(units, list) or not 1 <= len(units) <= limits.max_neurons:
            raise StateError(f"hidden layer {index + 1} must have 1 to {limits.max_neurons} neurons", "layers")
        for unit in units:
            _check_activation(unit, limits, check_formula, f"layer {index + 1}")
            distinct.add(unit)
    if len(distinct) > limits.max_distinct_activations:
        raise StateError(f"at most {limits.max_distinct_activations} different activations in one net", "layers")
    state["layers"] = [list(units) for units in layers]
    compare = raw.get("compare")
    if compare is not None:
        _check_activation(compare, limits, check_formula, "compare")
    state["compare"] = compare
    return state


def _check_activation(unit: Any, limits: Limits, check_formula, where: str) -> None:
    if not isinstance(unit, str) or not unit:
        raise StateError(f"{where}: an activation is a name or 'f:<formula>', got {unit!r}", "layers")
    if unit.startswith("f:"):
        if len(unit) - 2 > limits.max_formula_length:
            raise StateError(f"{where}: the formula is longer than {limits.max_formula_length} characters", "layers")
        if check_formula is None:
            raise StateError(f"{where}: formulas cannot be checked here", "layers")
        try:
            check_formula(unit[2:])
        except Exception as error:  # FormulaProblem: message names the problem
            raise StateError(f"{where}: {error}", "layers") from None
        return
    if len(unit) > 64:
        raise StateError(f"{where}: activation name too long", "layers")
    try:
        resolve_unit(unit)
    except Exception as error:  # UnknownNameError / PlayError carry the message
        raise StateError(f"{where}: {error}", "layers") from None


class TokenBucket:
    """``rate`` messages per second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


DATA_KEYS = ("dataset", "noise", "ratio", "seed")
NET_KEYS = ("features", "layers", "loss", "compare")


@dataclass
class Session:
    """One tab: its checked state, data, playground and bookkeeping.  Mutate only under ``lock``."""

    limits: Limits
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_STATE))
    upload: PlayData | None = None
    data: PlayData | None = None
    playground: Playground | None = None
    playing: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent_epochs: int = 0  # how much loss history the page already has

    def __post_init__(self) -> None:
        self.bucket = TokenBucket(self.limits.max_messages_per_s, self.limits.burst_messages)

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    # ------------------------------------------------------------ changes
    def _settings(self) -> Settings:
        s = self.state
        return Settings(
            features=tuple(s["features"]), layers=tuple(tuple(u) for u in s["layers"]), learning_rate=s["lr"],
            batch_size=s["batch"], regularization=s["reg"], regularization_rate=s["regRate"], loss=s["loss"],
            compare=s["compare"], seed=s["seed"],
        )

    def _make_data(self) -> PlayData:
        s = self.state
        if s["dataset"] == "upload":
            if self.upload is None:
                raise PlayError("no uploaded data in this playground session")
            return self.upload
        return make_data(s["dataset"], n=self.limits.default_points, noise=s["noise"], ratio=s["ratio"], seed=s["seed"])

    def reset(self, regenerate: bool = False) -> None:
        """New nets (epoch 0) and, with ``regenerate`` (or no data yet), new data."""
        data = self._make_data() if regenerate or self.data is None else self.data
        playground = Playground(data, self._settings())  # both built before either is kept (a failure changes nothing)
        self.data, self.playground = data, playground
        self.sent_epochs = 0

    def apply(self, state: dict[str, Any]) -> str:
        """Adopt a checked state: returns "data" (new data and nets), "net" (new nets) or "settings"."""
        old, self.state = self.state, state
        try:
            if self.playground is None or any(old[k] != state[k] for k in DATA_KEYS):
                self.reset(regenerate=True)
                return "data"
            if any(old[k] != state[k] for k in NET_KEYS):
                self.reset()
                return "net"
        except BaseException:
            self.state = old  # refused: the session keeps the state its data and nets were built from
            raise
        settings = self._settings()
        self.playground.settings.batch_size = settings.batch_size
        self.playground.settings.regularization = settings.regularization
        self.playground.settings.regularization_rate = settings.regularization_rate
        self.playground.set_learning_rate(settings.learning_rate)
        return "settings"

    def set_upload(self, data: PlayData) -> None:
        self.upload = data
        self.state = {**self.state, "dataset": "upload"}
        self.data = data
        self.playground = Playground(data, self._settings())
        self.sent_epochs = 0

    def frame(self) -> dict[str, Any]:
        """The next frame, with only the loss history the page has not had yet."""
        frame = self.playground.frame(history_from=self.sent_epochs)
        self.sent_epochs = len(self.playground.runs[0].history)
        return frame

    def data_message(self) -> dict[str, Any]:
        self.sent_epochs = 0
        return {"type": "data", "data": self.data.to_json(), "features": self.playground.feature_maps(),
                "state": self.state, "grid": self.playground.frame()["neuron_grid"]}


class SessionManager:
    """At most ``limits.max_sessions`` sessions; :meth:`expired` lists the idle ones."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> Session | None:
        with self._lock:
            if len(self.sessions) >= self.limits.max_sessions:
                return None
            session = Session(self.limits)
            self.sessions[session.id] = session
            return session

    def get(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    def remove(self, session_id: str) -> None:
        with self._lock:
            self.sessions.pop(session_id, None)

    def expired(self, now: float | None = None) -> list[Session]:
        now = time.monotonic() if now is None else now
        return [s for s in list(self.sessions.values()) if now - s.last_seen > self.limits.idle_timeout_s]
