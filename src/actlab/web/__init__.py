"""The local web playground (FastAPI app, sessions, static front-end)."""
