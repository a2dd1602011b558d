"""CloudWatch Logs filter patterns: terms, quoted phrases, exclusions and alternatives."""

from __future__ import annotations

import pytest

from app.cloudwatch.errors import InvalidParameter
from app.cloudwatch.logs.filter_pattern import parse


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ("ERROR", "2024 ERROR disk full", True),
        ("ERROR", "2024 error disk full", False),  # case-sensitive
        ("ERROR disk", "disk ERROR", True),  # every term, in any order
        ("ERROR disk", "ERROR only", False),
        ('"disk full"', "ERROR disk full", True),
        ('"disk full"', "full disk", False),
        ("ERROR -retry", "ERROR giving up", True),
        ("ERROR -retry", "ERROR will retry", False),
        ("?ERROR ?WARN", "WARN low memory", True),
        ("?ERROR ?WARN", "INFO all good", False),
        ('loss= ?"epoch 1" ?"epoch 2"', "epoch 2 loss=0.1", True),
        ('loss= ?"epoch 1" ?"epoch 2"', "epoch 3 loss=0.1", False),
        ('"say \\"hi\\""', 'they say "hi"', True),
    ],
)
def test_patterns_match_as_cloudwatch_defines_them(pattern: str, message: str, expected: bool) -> None:
    assert parse(pattern).matches(message) is expected


@pytest.mark.parametrize("pattern", ['{ $.level = "error" }', "[ip, user]", 'open"quote', '"unterminated'])
def test_structured_and_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidParameter):
        parse(pattern)
