"""Failed sign-ins, limited per client address and per access key: after `BURST` failures one more attempt
comes back every `REFILL_SECONDS`, and until then the form answers 429 with `Retry-After` before any key
is checked, so guessing a secret gains nothing from speed. Whether the key exists makes no difference to
the count or the answer. The buckets are the API's token buckets (`app.auth.throttle`), kept by each
replica as the API's throttling is: N replicas admit up to N x `BURST` failures at once."""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import Request

from app.auth.throttle import ALLOWED, Decision, Throttle

BURST = 5
REFILL_SECONDS = 60.0
_KEY_LENGTH = 128  # access key ids are 16 to 128 characters; longer input counts as its first 128


@dataclass(frozen=True)
class SignInLimits:
    by_client: Throttle
    by_key: Throttle

    @classmethod
    def new(cls) -> SignInLimits:
        def bucket() -> Throttle:
            return Throttle(rate_per_second=1 / REFILL_SECONDS, burst=BURST)

        return cls(by_client=bucket(), by_key=bucket())

    def check(self, *, client: str, access_key_id: str) -> Decision:
        """ALLOWED, or the refusal of the client or key that failed too often (the longer wait)."""
        now = time.monotonic()
        refusals = [
            decision
            for decision in (
                self.by_client.peek(client, now=now),
                self.by_key.peek(access_key_id[:_KEY_LENGTH], now=now),
            )
            if not decision.allowed
        ]
        return max(refusals, key=lambda d: d.retry_after_seconds) if refusals else ALLOWED

    def failed(self, *, client: str, access_key_id: str) -> None:
        now = time.monotonic()
        self.by_client.try_acquire(client, now=now)
        self.by_key.try_acquire(access_key_id[:_KEY_LENGTH], now=now)


def limits_of(request: Request) -> SignInLimits:
    """The application's limits, made on first use (one per app, so each test's app starts afresh)."""
    state = request.app.state
    if getattr(state, "console_sign_in_limits", None) is None:
        state.console_sign_in_limits = SignInLimits.new()
    limits: SignInLimits = state.console_sign_in_limits
    return limits


def client_of(request: Request) -> str:
    return "unknown" if request.client is None else request.client.host
