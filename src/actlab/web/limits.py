"""Server-side limits of the playground, enforced whatever the browser sends.

One frozen record, so the app, the sessions and the tests read the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    max_layers: int = 6  # hidden layers (the TensorFlow Playground's maximum)
    max_neurons: int = 8  # units per hidden layer
    max_points: int = 2000  # points in a data set (generated or uploaded)
    default_points: int = 500  # points the toy sets are generated with
    max_upload_bytes: int = 200_000  # CSV upload size
    max_sessions: int = 8  # open tabs at once ...
    max_sessions_per_client: int = 4  # ... of which one client address may hold this many
    max_formula_length: int = 200  # characters of one typed formula
    max_formula_checks_per_client: int = 2  # POST /api/formula checks one client address may have waiting at once
    formula_deadline_s: float = 3.0  # building a formula in the worker process (wall time: ordinary formulas
    # take 0.7-1.1 s at load 9 on 2 cores, so 1 s refused them on a busy machine)
    max_message_bytes: int = 16_384  # one WebSocket message from the browser
    max_messages_per_s: float = 40.0  # sustained rate per session (token bucket) ...
    burst_messages: int = 80  # ... and its burst
    idle_timeout_s: float = 600.0  # a session with no message for this long is closed
    max_fps: float = 60.0  # frames per second a playing session sends at most
    max_distinct_activations: int = 16  # different activations in one net (formulas are costly)


DEFAULT_LIMITS = Limits()
