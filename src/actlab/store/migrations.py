"""The store's schema as a list of migrations; ``PRAGMA user_version`` records how many have run.

A later table (per-layer diagnostics, checkpoints) is one more entry in
:data:`MIGRATIONS`; an existing store is upgraded in place on open.
"""
from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "pending", "apply"]

# version 1: the comparison store (sweep, runs, epochs, results)
_V1 = """
CREATE TABLE IF NOT EXISTS sweep (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    config      TEXT NOT NULL,      -- resolved config, JSON
    fingerprint TEXT NOT NULL,      -- hash of the result-relevant part of the config
    versions    TEXT NOT NULL,      -- library versions, JSON
    created     TEXT NOT NULL,      -- ISO 8601, UTC
    command     TEXT NOT NULL,      -- the command line as typed
    reproduce   TEXT NOT NULL DEFAULT '',  -- a command that reruns this exact sweep
    wall_seconds REAL NOT NULL DEFAULT 0   -- total time spent training, over all sessions
);
CREATE TABLE IF NOT EXISTS runs (
    run_id         TEXT PRIMARY KEY,
    activation     TEXT NOT NULL,   -- what was given to actlab.get (name or formula)
    label          TEXT NOT NULL,   -- how the report names it
    params         TEXT NOT NULL DEFAULT '{}',  -- activation parameters, JSON
    seed           INTEGER NOT NULL,
    lr             REAL,
    spec           TEXT NOT NULL DEFAULT '{}',  -- RunSpec.to_dict(), JSON
    status         TEXT NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'running', 'finished', 'diverged')),
    diverged_epoch INTEGER,
    diverged_step  INTEGER,
    reason         TEXT,
    wall_seconds   REAL,
    started        TEXT,
    finished       TEXT
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id       TEXT NOT NULL REFERENCES runs(run_id),
    epoch        INTEGER NOT NULL,
    step         INTEGER NOT NULL,
    train_loss   REAL,
    val_loss     REAL,
    val_accuracy REAL,
    seconds      REAL,
    PRIMARY KEY (run_id, epoch)
);
CREATE TABLE IF NOT EXISTS results (
    run_id            TEXT PRIMARY KEY REFERENCES runs(run_id),
    best_epoch        INTEGER,
    test_loss         REAL,
    test_accuracy     REAL,
    val_loss          REAL,
    val_accuracy      REAL,
    seconds_per_epoch REAL
);
"""

# version 2: per-layer gradient flow (``actlab compare --diagnostics``) and clipped-step counts
_V2 = """
CREATE TABLE IF NOT EXISTS layer_stats (
    run_id             TEXT NOT NULL REFERENCES runs(run_id),
    epoch              INTEGER NOT NULL,   -- 0: at initialisation
    layer              INTEGER NOT NULL,   -- hidden layer, 1-based
    step               INTEGER NOT NULL,   -- optimiser steps taken before the measurement
    loss               REAL,               -- mean loss on the evaluation batch
    speed              REAL,               -- ‖mean ∂C/∂b_l‖₂ on the evaluation batch
    weight_grad_norm   REAL,               -- ‖mean ∂C/∂W_l‖_F
    mean               REAL,               -- of the activations
    std                REAL,
    saturated_fraction REAL,               -- NULL when max |f'| is unbounded
    zero_fraction      REAL,
    dead_fraction      REAL,
    units              INTEGER,
    histogram          TEXT,               -- JSON: min, max, num, sum, sum_squares, counts (equal-width bins)
    PRIMARY KEY (run_id, epoch, layer)
);
CREATE TABLE IF NOT EXISTS clipping (
    run_id        TEXT PRIMARY KEY REFERENCES runs(run_id),
    epoch         INTEGER NOT NULL,        -- the epoch the counts run up to
    steps         INTEGER NOT NULL,
    clipped_steps INTEGER NOT NULL         -- steps whose gradient clipping changed
);
"""

# version 3: each extension of a sweep's epoch budget (``--resume --epochs N``)
_V3 = """
CREATE TABLE IF NOT EXISTS extensions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created     TEXT NOT NULL,     -- ISO 8601, UTC
    from_epochs INTEGER NOT NULL,  -- the budget before
    to_epochs   INTEGER NOT NULL,  -- the budget after
    runs        INTEGER NOT NULL,  -- finished runs reopened to train further
    command     TEXT NOT NULL DEFAULT ''
);
"""

# version 4: per-step training losses (``--log-every-step``) and every reportable point of a finished run
# (best validation loss, best validation accuracy, final; ``results`` holds the one ``--report-at`` chose)
_V4 = """
CREATE TABLE IF NOT EXISTS steps (
    run_id     TEXT NOT NULL REFERENCES runs(run_id),
    step       INTEGER NOT NULL,   -- 1-based optimiser step
    train_loss REAL,               -- the step's mini-batch loss, before its update
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS result_points (
    run_id        TEXT NOT NULL REFERENCES runs(run_id),
    criterion     TEXT NOT NULL CHECK (criterion IN ('best-val-loss', 'best-val-acc', 'final')),
    epoch         INTEGER,         -- the evaluation point (epochs done; with a step budget its number)
    step          INTEGER,
    test_loss     REAL,
    test_accuracy REAL,
    val_loss      REAL,
    val_accuracy  REAL,
    PRIMARY KEY (run_id, criterion)
);
"""

# version 5: what the report shows but does not compute, measured once when the sweep ran
# (``actlab.store.measured``): each activation's module cost, and the 2-D decision-boundary thumbnails
_V5 = """
CREATE TABLE IF NOT EXISTS cost (
    label       TEXT PRIMARY KEY,  -- as in runs.label
    activation  TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',  -- JSON
    batch       INTEGER NOT NULL,  -- the timed tensor: batch × width
    width       INTEGER NOT NULL,
    layers      INTEGER NOT NULL,  -- hidden layers the activation runs in
    median      REAL,              -- seconds per forward + backward call, median over the rounds
    spread      REAL,              -- half the interquartile range of the rounds
    best        REAL,              -- the fastest round
    rounds      TEXT NOT NULL DEFAULT '[]',  -- JSON: seconds per call in each round
    calls       INTEGER NOT NULL,  -- calls per round
    threads     INTEGER NOT NULL,
    load        REAL,              -- 1-minute load average when timed (NULL where unknown)
    measured    TEXT NOT NULL      -- ISO 8601, UTC
);
CREATE TABLE IF NOT EXISTS thumbnail_frame (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    dataset     TEXT NOT NULL,
    recipe      TEXT NOT NULL,     -- JSON: how the thumbnails' nets were trained
    window      TEXT NOT NULL,     -- JSON [x0 min, x0 max, x1 min, x1 max]
    grid        INTEGER NOT NULL,  -- grid points per side
    points      TEXT NOT NULL,     -- JSON [[x0, x1, class], ...]: the training points
    truth       BLOB               -- float32 grid × grid: the true boundary's function (0 on it), or NULL
);
CREATE TABLE IF NOT EXISTS thumbnails (
    label         TEXT PRIMARY KEY,
    activation    TEXT NOT NULL,   -- what the lab trained (an --act value of actlab boundary)
    test_accuracy REAL,
    probabilities BLOB             -- float32 grid × grid: P(class 1); NULL when the lab cannot train it
);
"""

# version 6: each arm's model size, measured when the sweep ran (``actlab.store.sizes``)
_V6 = """
CREATE TABLE IF NOT EXISTS model_size (
    label        TEXT PRIMARY KEY,  -- as in runs.label
    activation   TEXT NOT NULL,
    n_parameters INTEGER NOT NULL,  -- trainable parameters (tied weights once)
    hidden_width INTEGER NOT NULL,  -- the builder's hidden width for this arm (gpt: the FFN's)
    flops        INTEGER NOT NULL,  -- forward FLOPs per example (actlab.models.size)
    flops_unit   TEXT NOT NULL      -- 'token' (gpt) or 'sample'
);
"""

# version 7: ``actlab search`` (``actlab.store.search``): the search's settings, every generated candidate, the
# screen's verdicts, the rungs of the race and every run the race trained
_V7 = """
CREATE TABLE IF NOT EXISTS search (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    config      TEXT NOT NULL,      -- the search's options and its plan (rungs, steps, seeds), JSON
    created     TEXT NOT NULL,      -- ISO 8601, UTC
    command     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS search_candidates (
    id           INTEGER PRIMARY KEY,  -- generation order (catalog seeds first)
    formula      TEXT NOT NULL,        -- formula-language text, what the race trains
    origin       TEXT NOT NULL,        -- generated | seed | user | baseline
    canonical    TEXT NOT NULL,        -- SymPy's canonical form (srepr): the de-duplication key
    duplicate_of INTEGER,              -- the first candidate with the same key (NULL: distinct)
    trained      TEXT,                 -- the formula trained (the normalised one with --normalise)
    details      TEXT                  -- JSON: curves of f and f', properties (finalists only)
);
CREATE TABLE IF NOT EXISTS search_screen (
    candidate INTEGER NOT NULL REFERENCES search_candidates(id),
    rule      TEXT NOT NULL,
    passed    INTEGER NOT NULL,
    value     REAL,
    detail    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (candidate, rule)
);
CREATE TABLE IF NOT EXISTS search_rungs (
    rung      INTEGER PRIMARY KEY,     -- 0, 1, ...; the final round is the last
    steps     INTEGER NOT NULL,
    seeds     INTEGER NOT NULL,
    entered   TEXT NOT NULL,           -- JSON list of candidate ids
    kept      TEXT,                    -- JSON list of the ids that go on (NULL until the rung finished)
    seconds   REAL
);
CREATE TABLE IF NOT EXISTS search_runs (
    rung          INTEGER NOT NULL,
    candidate     INTEGER NOT NULL REFERENCES search_candidates(id),
    seed          INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('finished', 'diverged')),
    val_loss      REAL,
    val_accuracy  REAL,
    test_loss     REAL,
    test_accuracy REAL,
    PRIMARY KEY (rung, candidate, seed)
);
"""

# each entry: the SQL that takes a store from version i to i + 1 (statements separated by ";\n")
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
SCHEMA_VERSION = len(MIGRATIONS)


def pending(version: int) -> tuple[str, ...]:
    """The migrations a store at ``version`` still needs."""
    return MIGRATIONS[version:]


def apply(conn: sqlite3.Connection, version: int) -> None:
    """Run the pending migrations inside the caller's write transaction and record the new version."""
    for script in pending(version):
        for statement in script.split(";\n"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
