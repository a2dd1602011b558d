"""The tuning page's best-so-far line: the running best, by the objective's direction, gaps kept."""

from __future__ import annotations

from app.console.tuning_view import best_so_far


def test_the_running_minimum_skips_trials_without_an_objective() -> None:
    assert best_so_far([None, 0.7, None, 0.9, 0.3, 0.5], minimize=True) == [None, 0.7, 0.7, 0.7, 0.3, 0.3]


def test_the_running_maximum() -> None:
    assert best_so_far([0.6, 0.4, 0.8, None], minimize=False) == [0.6, 0.6, 0.8, 0.8]


def test_no_trials_no_line() -> None:
    assert best_so_far([], minimize=True) == []
