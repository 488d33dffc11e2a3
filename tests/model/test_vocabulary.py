"""Every metric key a training run records is built from the declared vocabulary (nothing a report must guess)."""

from __future__ import annotations

from techscore.model.vocabulary import METRICS, parse_metric


def test_every_metric_a_run_records_is_declared(trained):
    undeclared = sorted(k for k in trained.metrics if parse_metric(k) is None)
    assert undeclared == []
    assert {parse_metric(k).metric.name for k in trained.metrics} <= set(METRICS)


def test_every_declared_metric_says_which_way_is_better():
    assert METRICS["auc"].higher_is_better is True and METRICS["brier"].higher_is_better is False
    assert all(m.zh and m.en for m in METRICS.values())
