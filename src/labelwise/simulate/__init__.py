"""Simulation: replay a labeled dataset as an oracle, learning curves, savings against random, reports."""

from labelwise.simulate.engine import (
    METRICS,
    Progress,
    SettingsError,
    area_under_curve,
    baseline_reading,
    initial_rows,
    label_schedule,
    pool_rows,
    savings_against_random,
    score_predictions,
    simulate,
)
from labelwise.simulate.report import markdown_report, plot_curves, write_report

__all__ = [
    "METRICS", "Progress", "SettingsError", "area_under_curve", "baseline_reading", "initial_rows", "label_schedule", "markdown_report", "plot_curves",
    "pool_rows", "savings_against_random", "score_predictions", "simulate", "write_report",
]
