"""Callers for API tests: the root key and two more keys, each a real access key signing real requests.

`client_as(api, caller)` registers the caller's key with the app's identities (idempotently) and returns
a client of the same app whose requests are SigV4-signed with it, so every test crosses the edge as the
server would see that account.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.auth.caller import Caller
from app.client.auth import SigV4Auth
from app.client.sigv4 import Credentials
from tests.support.server import ROOT_KEY, ROOT_SECRET

DEFAULT_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"

# The default account's root key (the bootstrap's `test`, an admin), a plain user of the same account,
# and the first user of a second account.
ROOT = Caller(account_id=DEFAULT_ACCOUNT, access_key_id=ROOT_KEY, is_admin=True)
USER = Caller(account_id=DEFAULT_ACCOUNT, access_key_id="AKIAUSERTESTKEY00001")
OTHER = Caller(account_id=OTHER_ACCOUNT, access_key_id="AKIAOTHERTESTKEY0001")


def secret_of(caller: Caller) -> str:
    return ROOT_SECRET if caller.access_key_id == ROOT_KEY else f"secret-of-{caller.access_key_id}"


def auth_for(caller: Caller) -> SigV4Auth:
    return SigV4Auth(Credentials(caller.access_key_id, secret_of(caller), None))


def role_arn(caller: Caller) -> str:
    """A role of the caller's account, which its jobs may pass (RoleArn)."""
    return f"arn:aws:iam::{caller.account_id}:role/SageMakerRole"


def client_as(api: TestClient, caller: Caller) -> TestClient:
    """Another client of the app `api` drives (its lifespan already running), signing as `caller`."""
    if caller.access_key_id != ROOT_KEY:
        identities = api.app.state.services.identities  # type: ignore[attr-defined]
        identities.ensure_account(caller.account_id, name=f"account-{caller.account_id}")
        identities.put_access_key(
            caller.access_key_id, secret_of(caller), account_id=caller.account_id, admin=caller.is_admin
        )
    client = TestClient(api.app, base_url=str(api.base_url))
    client.auth = auth_for(caller)
    return client
