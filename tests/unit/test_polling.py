"""The one waiting loop the tests share: what it returns, and what its failure says."""

from __future__ import annotations

import itertools

import pytest

from tests.support.polling import wait_until


def test_returns_the_first_value_that_satisfies_the_condition() -> None:
    values = iter([None, 0, 3, 4])
    assert wait_until(lambda: next(values), what="a number", interval=0) == 3
    counter = itertools.count()
    assert wait_until(lambda: next(counter), until=lambda n: n >= 2, what="two", interval=0) == 2


def test_a_stall_names_what_was_awaited_and_the_last_value_seen() -> None:
    counter = itertools.count()
    with pytest.raises(AssertionError) as caught:
        wait_until(lambda: next(counter), until=lambda n: n < 0, what="a negative count", timeout=0)
    assert str(caught.value) == "gave up after 0 s waiting for a negative count; last seen: 0"


def test_a_long_last_value_is_cut_short() -> None:
    with pytest.raises(AssertionError, match=r"last seen: 'xxx+\.\.\.$") as caught:
        wait_until(lambda: "x" * 10_000, until=lambda _: False, what="nothing", timeout=0)
    assert len(str(caught.value)) < 1000
