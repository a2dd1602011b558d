"""The job page's log follow through the real ASGI app: server-sent events with each VM's tail first,
then the lines it gains, `end` once the job has ended (its last partial line included), resuming from
Last-Event-ID, and nothing for another account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.console import log_follow
from app.jobs import repository
from app.runtime import logs
from app.services import Services
from tests.api.test_console import make_job, signed_in
from tests.support.callers import OTHER, ROOT, client_as


def _services(api: TestClient) -> Services:
    services: Services = api.app.state.services  # type: ignore[attr-defined]
    return services


def _log(api: TestClient, job: str) -> Path:
    path = logs.stream_path(
        _services(api).settings.data_dir, account_id=ROOT.account_id, job_name=job, host="algo-1", epoch=1
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _end(api: TestClient, job: str) -> None:
    with _services(api).sessions.begin() as session:
        row = repository.get(session, account_id=ROOT.account_id, name=job)
        assert row is not None
        values = {"status": "Completed", "secondary_status": "Completed"}
        assert repository.compare_and_set(
            session, job_id=row.id, expected=(row.status, row.secondary_status), values=values
        )


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str, dict[str, object]]]:
    """(event id, event name, data) as the stream sends them."""
    fields: dict[str, str] = {}
    for line in lines:
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        yield fields.get("id", ""), fields.get("event", "message"), json.loads(fields.get("data", "{}"))
        fields = {}


def test_the_tail_then_new_lines_then_end(api: TestClient) -> None:
    make_job(api, "talker")
    log = _log(api, "talker")
    log.write_text("one\ntwo\nhalf")
    client, _ = signed_in(api)
    with client.stream("GET", "/console/job/talker/logs/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.iter_lines())
        _, name, data = next(events)
        assert (name, data) == ("log", {"host": "algo-1", "text": "one\ntwo\n", "reset": True})
        with log.open("a") as f:
            f.write(" a line\nthree\nlast words")
        event_id, name, data = next(events)
        assert (name, data) == ("log", {"host": "algo-1", "text": "half a line\nthree\n", "reset": False})
        assert json.loads(event_id) == {"talker/algo-1-1": len("one\ntwo\nhalf a line\nthree\n")}
        _end(api, "talker")
        rest = list(events)
    assert rest[0][1:] == ("log", {"host": "algo-1", "text": "last words", "reset": False})
    assert rest[-1][1] == "end" and len(rest) == 2


def test_a_reconnect_resumes_from_the_last_event_id(api: TestClient) -> None:
    make_job(api, "talker")
    _log(api, "talker").write_text("one\ntwo\n")
    _end(api, "talker")
    client, _ = signed_in(api)
    resumed = client.get(
        "/console/job/talker/logs/events", headers={"Last-Event-ID": '{"talker/algo-1-1": 4}'}
    )
    events = list(_events(iter(resumed.text.splitlines())))
    assert [(name, data) for _, name, data in events] == [
        ("log", {"host": "algo-1", "text": "two\n", "reset": False}),
        ("end", {}),
    ]
    garbled = client.get("/console/job/talker/logs/events", headers={"Last-Event-ID": "not json"})
    assert '"text": "one\\ntwo\\n", "reset": true' in garbled.text


def test_another_accounts_job_has_no_log_events(api: TestClient) -> None:
    make_job(api, "talker")
    client_as(api, OTHER)
    theirs, _ = signed_in(api, OTHER)
    assert theirs.get("/console/job/talker/logs/events").status_code == 404


def test_a_connection_is_closed_past_its_bound_for_the_browser_to_reconnect(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_follow, "MAX_BYTES", 1)
    make_job(api, "talker")  # still running: only the bound ends the stream
    _log(api, "talker").write_text("one\n")
    client, _ = signed_in(api)
    events = list(_events(iter(client.get("/console/job/talker/logs/events").text.splitlines())))
    assert [name for _, name, _ in events] == ["log"]
