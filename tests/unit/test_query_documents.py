"""The Query protocol's XML documents, read back by botocore's own query parser."""

from __future__ import annotations

import datetime as dt
from typing import Any

from botocore.parsers import QueryParser

from app.api.query import documents
from app.wire import model

WHEN = dt.datetime(2026, 12, 2, 10, 30, 5, 250000, tzinfo=dt.UTC)


def parsed(service: str, operation: str, output: dict[str, Any]) -> dict[str, Any]:
    operation_model = model.service_model(service).operation_model(operation)
    body = documents.result(operation_model, output, namespace="urn:test", request_id="R1")
    response = {"body": body, "headers": {}, "status_code": 200}
    found: dict[str, Any] = QueryParser().parse(response, operation_model.output_shape)
    assert found.pop("ResponseMetadata")["RequestId"] == "R1"
    return found


def test_structures_timestamps_and_numbers() -> None:
    output = {
        "Credentials": {
            "AccessKeyId": "ASIA1",
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": WHEN,
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA1:s", "Arn": "arn:aws:sts::1:assumed-role/R/s"},
        "PackedPolicySize": 0,
    }
    found = parsed("sts", "AssumeRole", output)
    assert found["Credentials"]["Expiration"] == WHEN.replace(microsecond=250000)
    assert found == output


def test_lists_and_booleans() -> None:
    result = {"EvalActionName": "s3:GetObject", "EvalDecision": "allowed", "MatchedStatements": []}
    results = [result, {**result, "EvalActionName": "s3:PutObject"}]
    output = {"EvaluationResults": results, "IsTruncated": False}
    found = parsed("iam", "SimulatePrincipalPolicy", output)
    assert found["IsTruncated"] is False
    assert [r["EvalActionName"] for r in found["EvaluationResults"]] == ["s3:GetObject", "s3:PutObject"]


def test_text_is_escaped() -> None:
    output = {"UserId": "a<b>&c", "Account": "1", "Arn": "arn"}
    assert parsed("sts", "GetCallerIdentity", output) == output


def test_errors_read_as_botocore_reads_them() -> None:
    body = documents.error(
        code="InvalidAction", message="no <such> thing", sender=True, namespace="urn:test", request_id="R2"
    )
    found = QueryParser().parse({"body": body, "headers": {}, "status_code": 400}, None)
    assert found["Error"] == {"Type": "Sender", "Code": "InvalidAction", "Message": "no <such> thing"}
    assert found["ResponseMetadata"]["RequestId"] == "R2"
