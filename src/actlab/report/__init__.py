"""The comparison report: ``RUN_DIR/report.html`` and ``RUN_DIR/report.md`` from the store (re-exports only).

Reads only the store (:mod:`actlab.store`) and the activation specs / property
table; never the training code.  ``actlab report RUN_DIR`` regenerates it.
:mod:`~actlab.report.summary` says what each statistic means.
"""
from __future__ import annotations

from actlab.report.decision import Decision, decide
from actlab.report.outcome import ALL_FAILED_EXIT, decision_summary, summary_lines
from actlab.report.render import write_report
from actlab.report.stats import ALPHA, bounded_interval, holm, t_interval
from actlab.report.summary import ActivationSummary, ReportData, summarize

__all__ = ["ALL_FAILED_EXIT", "ALPHA", "ActivationSummary", "Decision", "ReportData", "bounded_interval", "decide",
           "decision_summary", "holm", "summarize", "summary_lines", "t_interval", "write_report"]
