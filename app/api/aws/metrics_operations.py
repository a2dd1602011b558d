"""Operation table of CloudWatch metrics (`GraniteServiceVersion20100801.*`): the caller's job metric
series, read-only."""

from __future__ import annotations

from app.api.aws.operations import Handler

HANDLERS: dict[str, Handler] = {}
