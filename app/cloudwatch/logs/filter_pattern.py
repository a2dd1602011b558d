"""CloudWatch Logs filter patterns for unstructured events: terms and quoted phrases.

As CloudWatch defines them: every term (or `"quoted phrase"`) must occur in the message, case-sensitively;
`-term` must not occur; `?term`s are alternatives, at least one of which must occur. An empty pattern
matches every event. JSON (`{...}`) and space-delimited (`[...]`) patterns are refused: job logs are
plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.cloudwatch.errors import InvalidParameter

_TOKEN = re.compile(r'([-?]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


@dataclass(frozen=True, slots=True)
class FilterPattern:
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        return (
            all(term in message for term in self.required)
            and not any(term in message for term in self.excluded)
            and (not self.any_of or any(term in message for term in self.any_of))
        )


def parse(pattern: str) -> FilterPattern:
    text = pattern.strip()
    if text[:1] in ("{", "["):
        raise InvalidParameter("Only term and quoted-phrase filter patterns are supported for job logs.")
    required: list[str] = []
    excluded: list[str] = []
    any_of: list[str] = []
    position = 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or (found.group(2) is None and '"' in found.group(3)):
            raise InvalidParameter(f"Invalid character(s) in term '{text[position:]}'")
        sign, phrase, term = found.groups()
        word = phrase.replace('\\"', '"') if phrase is not None else term
        {"-": excluded, "?": any_of}.get(sign, required).append(word)
        position = found.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return FilterPattern(tuple(required), tuple(excluded), tuple(any_of))
