"""IdentityService over a real SQLite file: accounts, keys, encrypted secrets, revocation, job credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.auth.identities import IdentityService
from app.clock import FakeClock
from app.crypto import keyring
from app.db.models import AccessKey
from app.db.session import make_engine, make_session_factory
from app.errors import NotFound, ResourceInUse, ValidationError
from app.wire.pages import PageRequest


class Ticker:
    """The monotonic clock of the lookup cache, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def ring(tmp_path: Path) -> keyring.Keyring:
    return keyring.load_or_create(tmp_path / "master.key")


@pytest.fixture
def identities(
    sessions: sessionmaker[Session], ring: keyring.Keyring, clock: FakeClock, ticker: Ticker
) -> IdentityService:
    return IdentityService(sessions=sessions, keyring=ring, clock=clock, monotonic=ticker)


@pytest.fixture
def other_process(database_url: str, ring: keyring.Keyring, clock: FakeClock) -> Iterator[IdentityService]:
    """A second service on its own engine: what another server process sharing the database sees."""
    engine = make_engine(database_url)
    yield IdentityService(sessions=make_session_factory(engine), keyring=ring, clock=clock)
    engine.dispose()


def test_a_new_account_gets_a_12_digit_id_and_a_first_key_that_verifies(identities: IdentityService) -> None:
    account, first = identities.create_account("team-a")
    assert len(account.account_id) == 12 and account.account_id.isdigit()
    assert first.key.account_id == account.account_id and not first.key.is_admin
    record = identities.lookup(first.key.access_key_id)
    assert record is not None
    assert record.secret_access_key == first.secret_access_key
    assert record.caller == Caller(account_id=account.account_id, access_key_id=first.key.access_key_id)
    assert (record.session_token, record.expires_at) == (None, None)


def _stored_keys(sessions: sessionmaker[Session]) -> bytes:
    """Every value of every access key row, as the database holds it."""
    with sessions() as session:
        rows = session.execute(text("SELECT * FROM access_keys")).all()
    return b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)


def test_secrets_are_stored_encrypted_and_stay_out_of_reprs(
    identities: IdentityService, sessions: sessionmaker[Session]
) -> None:
    _, first = identities.create_account("team-a")
    admin = identities.create_access_key(first.key.account_id, admin=True)
    stored = _stored_keys(sessions)
    for secret in (first.secret_access_key, admin.secret_access_key):
        assert secret.encode() not in stored
        assert secret not in repr(admin) + repr(first) + repr(identities.lookup(admin.key.access_key_id))
    assert first.key.access_key_id.encode() in stored  # the rows are the right ones: the id is in the clear


def test_a_stored_secret_moved_to_another_key_does_not_unwrap(
    identities: IdentityService, sessions: sessionmaker[Session]
) -> None:
    _, first = identities.create_account("team-a")
    second = identities.create_access_key(first.key.account_id)
    with sessions.begin() as session:  # a tampered database
        rows = {k.access_key_id: k for k in session.query(AccessKey)}
        rows[second.key.access_key_id].wrapped_secret = rows[first.key.access_key_id].wrapped_secret
    assert identities.lookup(second.key.access_key_id) is None


def test_account_names_are_unique_and_checked(identities: IdentityService) -> None:
    identities.create_account("team-a")
    with pytest.raises(ResourceInUse):
        identities.create_account("team-a")
    for bad in ("", "has space", "x" * 65, "semi;colon"):
        with pytest.raises(ValidationError):
            identities.create_account(bad)
    assert [a.name for a in identities.list_accounts().items] == ["team-a"]


def test_keys_of_unknown_accounts_are_refused(identities: IdentityService) -> None:
    with pytest.raises(NotFound):
        identities.create_access_key("000000000000")
    with pytest.raises(NotFound):
        identities.list_access_keys("000000000000")
    with pytest.raises(NotFound):
        identities.issue_job_credentials("000000000000", "job", ttl=dt.timedelta(hours=1))
    with pytest.raises(NotFound):
        identities.revoke("AKIANOSUCHKEY")


def test_listing_shows_long_lived_keys_per_account_or_all_and_their_status(
    identities: IdentityService, clock: FakeClock
) -> None:
    a, a_first = identities.create_account("team-a")
    clock.advance(1)
    _, b_first = identities.create_account("team-b")
    clock.advance(1)
    a_admin = identities.create_access_key(a.account_id, admin=True)
    identities.issue_job_credentials(a.account_id, "job-1", ttl=dt.timedelta(hours=1))
    identities.revoke(a_first.key.access_key_id)
    listed = identities.list_access_keys(a.account_id).items
    assert [(k.access_key_id, k.is_admin, k.revoked_at) for k in listed] == [
        (a_first.key.access_key_id, False, clock.now),
        (a_admin.key.access_key_id, True, None),
    ]
    every = [k.access_key_id for k in identities.list_access_keys().items]
    assert every == [a_first.key.access_key_id, b_first.key.access_key_id, a_admin.key.access_key_id]


def test_accounts_and_keys_come_in_pages(identities: IdentityService, clock: FakeClock) -> None:
    made = []
    for name in ("team-a", "team-b", "team-c"):
        account, first = identities.create_account(name)
        made.append((account.account_id, first.key.access_key_id))
        clock.advance(1)
    first_page = identities.list_accounts(PageRequest(max_results=2))
    assert [a.account_id for a in first_page.items] == [made[0][0], made[1][0]]
    rest = identities.list_accounts(PageRequest(max_results=2, next_token=first_page.next_token))
    assert ([a.account_id for a in rest.items], rest.next_token) == ([made[2][0]], None)
    keys = identities.list_access_keys(page=PageRequest(max_results=1))
    following = identities.list_access_keys(page=PageRequest(max_results=5, next_token=keys.next_token))
    assert [k.access_key_id for k in keys.items + following.items] == [key for _, key in made]
    with pytest.raises(ValidationError, match="filters"):  # a keys token is no accounts token
        identities.list_accounts(PageRequest(next_token=keys.next_token))
    with pytest.raises(ValidationError, match="filters"):  # nor one of another account's keys
        identities.list_access_keys(made[0][0], page=PageRequest(next_token=keys.next_token))


def test_a_revocation_here_takes_effect_at_once(identities: IdentityService) -> None:
    _, first = identities.create_account("team-a")
    assert identities.lookup(first.key.access_key_id) is not None  # now cached
    identities.revoke(first.key.access_key_id)
    assert identities.lookup(first.key.access_key_id) is None
    identities.revoke(first.key.access_key_id)  # revoking twice is harmless


def test_a_revocation_by_another_process_takes_effect_within_a_second(
    identities: IdentityService, ticker: Ticker, other_process: IdentityService
) -> None:
    _, first = identities.create_account("team-a")
    key_id = first.key.access_key_id
    assert identities.lookup(key_id) is not None
    other_process.revoke(key_id)
    ticker.now += 0.5
    assert identities.lookup(key_id) is not None  # still cached: the price of not reading every time
    ticker.now += 0.5
    assert identities.lookup(key_id) is None


def test_unknown_keys_are_cached_as_unknown_for_the_same_second(
    identities: IdentityService, ticker: Ticker, other_process: IdentityService
) -> None:
    other = other_process
    other.ensure_account("123456789012", name="default")
    assert identities.lookup("AKIALATER") is None
    other.put_access_key("AKIALATER", "secret", account_id="123456789012", admin=False)
    assert identities.lookup("AKIALATER") is None
    ticker.now += 1.0
    record = identities.lookup("AKIALATER")
    assert record is not None and record.secret_access_key == "secret"


def test_put_access_key_replaces_the_secret_and_reactivates(identities: IdentityService) -> None:
    identities.ensure_account("123456789012", name="default")
    identities.put_access_key("ROOT", "old", account_id="123456789012", admin=True)
    identities.revoke("ROOT")
    identities.put_access_key("ROOT", "new", account_id="123456789012", admin=True)
    record = identities.lookup("ROOT")
    assert record is not None
    assert (record.secret_access_key, record.caller.is_admin) == ("new", True)


def test_job_credentials_act_for_the_job_account_and_expire(
    identities: IdentityService, clock: FakeClock
) -> None:
    account, _ = identities.create_account("team-a")
    issued = identities.issue_job_credentials(account.account_id, "train-1", ttl=dt.timedelta(minutes=15))
    assert issued.access_key_id.startswith("ASIA")
    assert issued.expiration == clock.now + dt.timedelta(minutes=15)
    record = identities.lookup(issued.access_key_id)
    assert record is not None
    assert record.caller == Caller(
        account_id=account.account_id, access_key_id=issued.access_key_id, job_name="train-1"
    )
    assert (record.secret_access_key, record.session_token) == (
        issued.secret_access_key,
        issued.session_token,
    )
    clock.advance(15 * 60)
    assert identities.lookup(issued.access_key_id) is None  # expired, even while cached


def test_job_credentials_are_revoked_at_job_end_in_that_account_only(identities: IdentityService) -> None:
    a, _ = identities.create_account("team-a")
    b, _ = identities.create_account("team-b")
    ttl = dt.timedelta(hours=1)
    a_keys = [identities.issue_job_credentials(a.account_id, "train", ttl=ttl) for _ in range(2)]
    b_key = identities.issue_job_credentials(b.account_id, "train", ttl=ttl)
    assert all(identities.lookup(k.access_key_id) for k in a_keys)
    assert identities.revoke_job_credentials("train", account_id=a.account_id) == 2
    assert [identities.lookup(k.access_key_id) for k in a_keys] == [None, None]
    assert identities.lookup(b_key.access_key_id) is not None
    assert identities.revoke_job_credentials("train", account_id=a.account_id) == 0


def test_a_secret_wrapped_under_another_master_key_is_refused(
    sessions: sessionmaker[Session], identities: IdentityService, tmp_path: Path, clock: FakeClock
) -> None:
    _, first = identities.create_account("team-a")
    stranger = IdentityService(
        sessions=sessions, keyring=keyring.load_or_create(tmp_path / "other.key"), clock=clock
    )
    assert stranger.lookup(first.key.access_key_id) is None
