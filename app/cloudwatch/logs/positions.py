"""GetLogEvents' tokens in CloudWatch's form, `f/<position>/s` and `b/<position>/s`: a byte offset of an
event boundary in the stream's log, which stays valid however much the stream grows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from app.cloudwatch.errors import InvalidParameter

Direction = Literal["f", "b"]
_TOKEN = re.compile(r"([fb])/(\d{1,56})/s")


@dataclass(frozen=True, slots=True)
class Position:
    direction: Direction
    offset: int

    @property
    def token(self) -> str:
        return f"{self.direction}/{self.offset:056d}/s"


def parse(token: str) -> Position:
    found = _TOKEN.fullmatch(token)
    if found is None:
        raise InvalidParameter("The specified nextToken is invalid.")
    direction: Direction = "f" if found.group(1) == "f" else "b"
    return Position(direction, int(found.group(2)))
