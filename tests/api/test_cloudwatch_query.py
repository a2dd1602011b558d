"""CloudWatch metrics in the Query protocol, as older clients speak it: a real boto3 `cloudwatch` client
whose model says `query` (form-encoded requests, XML answers and errors) over the real ASGI app."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from app.config import Settings
from app.jobs import repository
from app.jobs.metric_repository import Point
from tests.conftest import create_request, idle_app
from tests.support import botocore_asgi
from tests.support.callers import OTHER, ROOT, client_as, role_arn, secret_of

NAMESPACE = "/aws/sagemaker/TrainingJobs"
START = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
BY_JOB = [{"Name": "TrainingJobName", "Value": "q-job"}]
WINDOW = {"StartTime": START, "EndTime": START + dt.timedelta(minutes=3)}


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The app with a job of the default account holding loss points (4 and 2, then 1 two minutes on)."""
    with idle_app(settings) as client:
        services: Any = client.app.state.services  # type: ignore[attr-defined]
        services.jobs.create(create_request("q-job", RoleArn=role_arn(ROOT)), caller=ROOT)
        with services.sessions() as session:
            job = repository.get(session, account_id=ROOT.account_id, name="q-job")
        points = [(4.0, 5, "algo-1"), (2.0, 30, "algo-2"), (1.0, 150, "algo-1")]
        services.metric_series.record(
            job.id, [Point("loss", v, START + dt.timedelta(seconds=s), host=h) for v, s, h in points]
        )
        yield client


@pytest.fixture
def query_session(tmp_path: Path) -> botocore.session.Session:
    """A botocore session whose CloudWatch model speaks only the Query protocol, as older releases did."""
    original = botocore.session.get_session().get_component("data_loader")
    model = copy.deepcopy(original.load_service_model("cloudwatch", "service-2"))
    model["metadata"] |= {"protocol": "query", "protocols": ["query"]}
    folder = tmp_path / "models" / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()  # its loader has read nothing yet (it caches what it read)
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models"))
    return session


def _cloudwatch(api: TestClient, session: botocore.session.Session, **kwargs: Any) -> Any:
    client = botocore_asgi.client(api, "cloudwatch", session=session, **kwargs)
    sent: list[dict[str, Any]] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(dict(request.headers)))
    client.sent = sent
    return client


def test_requests_are_forms_and_answers_xml(api: TestClient, query_session: botocore.session.Session) -> None:
    cloudwatch = _cloudwatch(api, query_session)
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, Dimensions=[{"Name": "Host"}])
    assert [m["Dimensions"][0]["Value"] for m in listed["Metrics"]] == ["q-job/algo-1", "q-job/algo-2"]
    headers = cloudwatch.sent[-1]
    assert headers["Content-Type"].startswith(b"application/x-www-form-urlencoded")
    assert "X-Amz-Target" not in headers
    stats = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="loss",
        Dimensions=BY_JOB,
        Period=60,
        Statistics=["Average", "Maximum"],
        ExtendedStatistics=["p50"],
        **WINDOW,
    )
    assert stats["Label"] == "loss"
    assert [
        (p["Timestamp"], p["Average"], p["Maximum"], p["ExtendedStatistics"]) for p in stats["Datapoints"]
    ] == [
        (START, 3.0, 4.0, {"p50": 2.0}),
        (START + dt.timedelta(minutes=2), 1.0, 1.0, {"p50": 1.0}),
    ]
    metric = {"Namespace": NAMESPACE, "MetricName": "loss", "Dimensions": BY_JOB}
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "avg", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}}],
        MaxDatapoints=1,
        **WINDOW,
    )
    [result] = data["MetricDataResults"]
    assert (result["Timestamps"], result["Values"], result["StatusCode"]) == (
        [START + dt.timedelta(minutes=2)],
        [1.0],
        "PartialData",
    )
    rest = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "avg", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Average"}}],
        MaxDatapoints=1,
        NextToken=data["NextToken"],
        **WINDOW,
    )
    assert rest["MetricDataResults"][0]["Values"] == [3.0] and "NextToken" not in rest


def test_errors_are_xml_in_cloudwatch_codes(api: TestClient, query_session: botocore.session.Session) -> None:
    cloudwatch = _cloudwatch(api, query_session, validate=False)
    for params, code in (
        ({"Period": 60, "Statistics": ["Sum"]}, "MissingParameter"),
        ({"Period": 45, "Statistics": ["Sum"], **WINDOW}, "InvalidParameterValue"),
        ({"Period": 60, **WINDOW}, "InvalidParameterCombination"),
    ):
        with pytest.raises(ClientError) as refused:
            cloudwatch.get_metric_statistics(Namespace=NAMESPACE, MetricName="loss", **params)
        error: Any = refused.value.response
        assert (error["Error"]["Code"], error["Error"]["Type"]) == (code, "Sender"), params
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as unknown:
        cloudwatch.meta.events.register("before-call.cloudwatch.ListDashboards", _rename)
        cloudwatch.list_dashboards()
    assert unknown.value.response["Error"]["Code"] == "InvalidAction"


def test_another_account_sees_nothing(api: TestClient, query_session: botocore.session.Session) -> None:
    client_as(api, OTHER)  # registers its key
    theirs = _cloudwatch(api, query_session, key=OTHER.access_key_id, secret=secret_of(OTHER))
    assert theirs.list_metrics()["Metrics"] == []
    stats = theirs.get_metric_statistics(
        Namespace=NAMESPACE, MetricName="loss", Dimensions=BY_JOB, Period=60, Statistics=["Sum"], **WINDOW
    )
    assert stats["Datapoints"] == []


def _rename(params: dict[str, Any], **_: Any) -> None:
    params["body"] = {**params["body"], "Action": "NoSuchAction"}
