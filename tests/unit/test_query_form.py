"""The Query protocol's form read back into the request botocore serialized, for real botocore shapes."""

from __future__ import annotations

from typing import Any

from botocore.serialize import create_serializer

from app.api.query import form
from app.wire import model


def round_trip(service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """What botocore's own query serializer sends for `params`, decoded by `form.decode`."""
    operation_model = model.service_model(service).operation_model(operation)
    body = create_serializer("query").serialize_to_request(params, operation_model)["body"]
    fields = {name: str(value) for name, value in body.items()}
    assert fields["Action"] == operation
    return form.decode(fields, operation_model.input_shape)


def test_scalars_come_back_with_their_types() -> None:
    params = {"RoleArn": "arn:aws:iam::123456789012:role/R", "RoleSessionName": "s1", "DurationSeconds": 900}
    assert round_trip("sts", "AssumeRole", params) == params


def test_lists_of_structures_and_of_strings() -> None:
    params = {
        "RoleArn": "arn:aws:iam::123456789012:role/R",
        "RoleSessionName": "s1",
        "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        "TransitiveTagKeys": ["a", "b"],
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/P"}],
    }
    assert round_trip("sts", "AssumeRole", params) == params


def test_nested_lists_and_empty_lists() -> None:
    params = {
        "PolicySourceArn": "arn:aws:iam::123456789012:role/R",
        "ActionNames": ["s3:GetObject", "s3:PutObject"],
        "ResourceArns": [],
        "ContextEntries": [
            {"ContextKeyName": "aws:k", "ContextKeyValues": ["1", "2"], "ContextKeyType": "string"}
        ],
    }
    assert round_trip("iam", "SimulatePrincipalPolicy", params) == params


def test_maps_come_back_as_dicts() -> None:
    params = {"Name": "topic", "Attributes": {"DisplayName": "d", "Policy": "p"}}
    assert round_trip("sns", "CreateTopic", params) == params


def test_text_that_is_not_a_number_stays_text_for_the_validator() -> None:
    shape = model.input_shape("AssumeRole", service="sts")
    assert form.decode({"DurationSeconds": "soon"}, shape) == {"DurationSeconds": "soon"}


def test_an_operation_without_input_reads_nothing() -> None:
    assert form.decode({"Action": "GetCallerIdentity"}, None) == {}
