"""Request validation derived from botocore's SageMaker model, worded as AWS words it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.errors import SerializationError, ValidationError
from app.wire import model
from app.wire.validate import parse_timestamp, validate
from tests.conftest import create_request

NAME_PATTERN = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"


def problems_of(operation: str, params: dict[str, Any]) -> list[str]:
    """The individual problems of a ValidationError, checking the 'N validation errors detected' prefix."""
    with pytest.raises(ValidationError) as caught:
        validate(operation, params)
    head, _, rest = caught.value.message.partition(" detected: ")
    problems = rest.split("; ")
    noun = "error" if len(problems) == 1 else "errors"
    assert head == f"{len(problems)} validation {noun}"
    return problems


def only_problem(params: dict[str, Any], operation: str = "CreateTrainingJob") -> str:
    (problem,) = problems_of(operation, params)
    return problem


def channel(name: str = "train") -> dict[str, Any]:
    s3 = {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/data/"}
    return {"ChannelName": name, "DataSource": {"S3DataSource": s3}}


def test_a_valid_request_passes_unchanged() -> None:
    request = create_request("job-1", HyperParameters={"epochs": "3"}, InputDataConfig=[channel()])
    assert validate("CreateTrainingJob", request) == request


def test_null_members_are_dropped_as_absent() -> None:
    request = create_request("job-1", StoppingCondition=None, Tags=None, InputDataConfig=[channel()])
    request["InputDataConfig"][0]["ContentType"] = None
    validated = validate("CreateTrainingJob", request)
    assert "StoppingCondition" not in validated and "Tags" not in validated
    assert validated["InputDataConfig"] == [channel()]
    assert request["StoppingCondition"] is None, "the caller's dict is not modified"


def test_required_member_missing() -> None:
    request = create_request("job-1")
    del request["RoleArn"]
    message = "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    with pytest.raises(ValidationError) as caught:
        validate("CreateTrainingJob", request)
    assert caught.value.message == f"1 validation error detected: {message}"
    assert caught.value.code == "ValidationException"


def test_required_member_given_as_null() -> None:
    assert only_problem(create_request("job-1", RoleArn=None)) == (
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


def test_required_nested_member() -> None:
    problem = only_problem(create_request("job-1", OutputDataConfig={}))
    assert problem == (
        "Value null at 'outputDataConfig.s3OutputPath' failed to satisfy constraint: Member must not be null"
    )


def test_pattern() -> None:
    assert only_problem(create_request("bad_name")) == (
        "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}"
    )


def test_patterns_match_the_whole_value() -> None:
    # The pattern matches a prefix of "job-" but Java's matches() needs the whole string.
    assert "regular expression pattern" in only_problem(create_request("job-"))
    assert validate("DescribeTrainingJob", {"TrainingJobName": "a--b"})


def test_length_over_the_maximum_reports_length_and_pattern() -> None:
    name = "a" * 64
    problems = problems_of("CreateTrainingJob", create_request(name))
    assert problems == [
        f"Value '{name}' at 'trainingJobName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63",
        f"Value '{name}' at 'trainingJobName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {NAME_PATTERN}",
    ]


def test_length_under_the_minimum() -> None:
    arn = "arn:aws:iam::1:r/x"
    problems = problems_of("CreateTrainingJob", create_request("job-1", RoleArn=arn))
    assert problems[0] == (
        f"Value '{arn}' at 'roleArn' failed to satisfy constraint: "
        "Member must have length greater than or equal to 20"
    )
    assert problems[1].startswith(
        f"Value '{arn}' at 'roleArn' failed to satisfy constraint: Member must satisfy"
    )


def test_long_values_are_cut_in_the_message() -> None:
    algorithm = {"TrainingImage": "x" * 300, "TrainingInputMode": "File"}
    problem = only_problem(create_request("job-1", AlgorithmSpecification=algorithm))
    assert problem == (
        f"Value '{'x' * 100}...' at 'algorithmSpecification.trainingImage' failed to satisfy constraint: "
        "Member must have length less than or equal to 255"
    )


@pytest.mark.parametrize(
    ("member", "value", "constraint"),
    [
        ("MaxRuntimeInSeconds", 0, "Member must have value greater than or equal to 1"),
        ("MaxPendingTimeInSeconds", 1799, "Member must have value greater than or equal to 1800"),
        ("MaxPendingTimeInSeconds", 2419201, "Member must have value less than or equal to 2419200"),
    ],
)
def test_integer_ranges(member: str, value: int, constraint: str) -> None:
    problem = only_problem(create_request("job-1", StoppingCondition={member: value}))
    path = "stoppingCondition." + member[0].lower() + member[1:]
    assert problem == f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"


def test_integer_bounds_are_inclusive() -> None:
    conditions = {"MaxRuntimeInSeconds": 1, "MaxPendingTimeInSeconds": 2419200}
    assert validate("CreateTrainingJob", create_request("job-1", StoppingCondition=conditions))


def test_enum() -> None:
    resources = {"InstanceType": "ml.fake.large", "InstanceCount": 1, "VolumeSizeInGB": 1}
    problem = only_problem(create_request("job-1", ResourceConfig=resources))
    allowed = model.enum_values("TrainingInstanceType")
    assert "ml.m5.large" in allowed
    assert problem == (
        "Value 'ml.fake.large' at 'resourceConfig.instanceType' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"
    )


def test_enum_values_are_case_sensitive() -> None:
    problem = only_problem({"StatusEquals": "inprogress"}, "ListTrainingJobs")
    assert problem == (
        "Value 'inprogress' at 'statusEquals' failed to satisfy constraint: "
        "Member must satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped, Deleting]"
    )


def test_list_size() -> None:
    channels = [channel(f"c{i}") for i in range(21)]
    problem = only_problem(create_request("job-1", InputDataConfig=channels))
    assert problem.endswith(
        "at 'inputDataConfig' failed to satisfy constraint: Member must have length less than or equal to 20"
    )
    assert validate("CreateTrainingJob", create_request("job-1", InputDataConfig=channels[:20]))
    empty = only_problem(create_request("job-1", InputDataConfig=[]))
    assert empty == (
        "Value '[]' at 'inputDataConfig' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    )


def test_map_size() -> None:
    hyperparameters = {f"p{i}": "1" for i in range(101)}
    problem = only_problem(create_request("job-1", HyperParameters=hyperparameters))
    assert problem.startswith("Value '{'p0': '1'")
    assert problem.endswith(
        "at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to 100"
    )
    del hyperparameters["p100"]
    assert validate("CreateTrainingJob", create_request("job-1", HyperParameters=hyperparameters))


def test_map_values_and_keys() -> None:
    problem = only_problem(create_request("job-1", HyperParameters={"lr": "x" * 2501}))
    assert problem.endswith(
        "at 'hyperParameters' failed to satisfy constraint: "
        "Map value must satisfy constraint: [Member must have length less than or equal to 2500]"
    )
    problem = only_problem(create_request("job-1", Environment={"1BAD": "v"}))
    assert problem == (
        "Value '{'1BAD': 'v'}' at 'environment' failed to satisfy constraint: "
        "Map key must satisfy constraint: "
        "[Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]"
    )


def test_nested_list_paths_are_one_based() -> None:
    broken = channel("bad name!")
    missing = channel()
    del missing["ChannelName"]
    problems = problems_of("CreateTrainingJob", create_request("job-1", InputDataConfig=[broken, missing]))
    assert problems == [
        "Value 'bad name!' at 'inputDataConfig.1.member.channelName' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [A-Za-z0-9\.\-_]+",
        "Value null at 'inputDataConfig.2.member.channelName' failed to satisfy constraint: "
        "Member must not be null",
    ]


def test_every_problem_is_reported_at_once() -> None:
    request = create_request("bad_name", RoleArn=None, StoppingCondition={"MaxRuntimeInSeconds": 0})
    request["ResourceConfig"]["InstanceType"] = "ml.nope"
    problems = problems_of("CreateTrainingJob", request)
    assert [p.split(" failed to satisfy constraint: ")[0] for p in problems] == [
        "Value null at 'roleArn'",
        "Value 'bad_name' at 'trainingJobName'",
        "Value 'ml.nope' at 'resourceConfig.instanceType'",
        "Value '0' at 'stoppingCondition.maxRuntimeInSeconds'",
    ]
    with pytest.raises(ValidationError, match=r"^4 validation errors detected: Value null at 'roleArn'"):
        validate("CreateTrainingJob", request)


def test_unknown_members_are_refused_by_name() -> None:
    assert only_problem(create_request("job-1", Colour="blue")) == "Unknown member 'Colour' at 'request'"
    request = create_request("job-1")
    request["ResourceConfig"]["Cores"] = 4
    assert only_problem(request) == "Unknown member 'Cores' at 'resourceConfig'"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"RoleArn": 5}, "Expected a string at 'roleArn' but got int: 5"),
        ({"ResourceConfig": "big"}, "Expected an object at 'resourceConfig' but got str: 'big'"),
        ({"InputDataConfig": {"ChannelName": "x"}}, "Expected a list at 'inputDataConfig' but got dict"),
        ({"HyperParameters": [["a", "b"]]}, "Expected a map at 'hyperParameters' but got list"),
        ({"HyperParameters": {"epochs": 3}}, "Expected a string at 'hyperParameters.value' but got int: 3"),
        ({"EnableNetworkIsolation": "true"}, "Expected a boolean at 'enableNetworkIsolation' but got str"),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": "60"}}, "Expected an integer at"),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": 60.0}}, "Expected an integer at"),
        ({"StoppingCondition": {"MaxRuntimeInSeconds": True}}, "Expected an integer at"),
        ({"Tags": [None]}, "Expected an object at 'tags.1.member' but got NoneType"),
    ],
)
def test_wrong_types_are_serialization_errors(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(SerializationError) as caught:
        validate("CreateTrainingJob", create_request("job-1", **overrides))
    assert caught.value.message.startswith(expected)
    assert caught.value.code == "SerializationException"


def test_a_wrong_type_wins_over_constraint_problems() -> None:
    request = create_request("bad_name", RoleArn=None, EnableNetworkIsolation=1)
    with pytest.raises(SerializationError, match="enableNetworkIsolation"):
        validate("CreateTrainingJob", request)


def test_the_body_must_be_an_object() -> None:
    for body in ([], "x", 3, None):
        with pytest.raises(SerializationError, match="Request body must be a JSON object"):
            validate("CreateTrainingJob", body)


@pytest.mark.parametrize(
    ("value", "bits"),
    [(2**31, 32), (-(2**31) - 1, 32), (10**30, 32)],
)
def test_integers_beyond_java_int_are_serialization_errors(value: int, bits: int) -> None:
    request = create_request("job-1", StoppingCondition={"MaxRuntimeInSeconds": value})
    with pytest.raises(SerializationError, match=f"Expected a {bits}-bit integer at 'stoppingCondition"):
        validate("CreateTrainingJob", request)


def test_long_members_take_64_bits() -> None:
    shuffled = channel()
    shuffled["ShuffleConfig"] = {"Seed": 2**63 - 1}
    assert validate("CreateTrainingJob", create_request("job-1", InputDataConfig=[shuffled]))
    shuffled["ShuffleConfig"] = {"Seed": 2**63}
    with pytest.raises(
        SerializationError, match=r"64-bit integer at 'inputDataConfig\.1\.member\.shuffleConfig\.seed'"
    ):
        validate("CreateTrainingJob", create_request("job-1", InputDataConfig=[shuffled]))


def test_the_largest_java_int_is_accepted() -> None:
    request = create_request("job-1", StoppingCondition={"MaxRuntimeInSeconds": 2**31 - 1})
    assert validate("CreateTrainingJob", request)


@pytest.mark.parametrize("text", ["Équipe", "チーム", "команда", "ä ö ü", "a_b.c:d/e=f+g-h@i", "数据 2"])
def test_tag_patterns_accept_unicode_letters_numbers_and_spaces(text: str) -> None:
    assert validate("CreateTrainingJob", create_request("job-1", Tags=[{"Key": text, "Value": text}]))


@pytest.mark.parametrize("text", ["semi;colon", "emoji🙂", "hash#", "new\nline"])
def test_tag_patterns_refuse_other_characters(text: str) -> None:
    problems = problems_of("CreateTrainingJob", create_request("job-1", Tags=[{"Key": "ok", "Value": text}]))
    assert problems == [
        f"Value '{text}' at 'tags.1.member.value' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
    ]


def test_timestamps_take_epoch_seconds_or_iso_8601() -> None:
    for value in (1767225600, 1767225600.5, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"):
        assert validate("ListTrainingJobs", {"CreationTimeAfter": value})
    for value in ("yesterday", True, 1e300, "0001-01-01T00:00:00+01:00", [], {}):
        with pytest.raises(SerializationError, match="Expected a timestamp"):
            validate("ListTrainingJobs", {"CreationTimeAfter": value})


def test_parse_timestamp_is_always_aware_utc() -> None:
    expected = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert parse_timestamp(1767225600) == expected
    assert parse_timestamp("2026-01-01T00:00:00Z") == expected
    assert parse_timestamp("2026-01-01T00:00:00") == expected
    shifted = parse_timestamp("2026-01-01T02:00:00+02:00")
    assert shifted == expected and shifted is not None and shifted.utcoffset() == dt.timedelta(0)
    assert parse_timestamp("9999-12-31T23:00:00-05:00") is None
    assert parse_timestamp(None) is None and parse_timestamp(False) is None


def test_doubles_and_their_ranges() -> None:
    variant = {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    config = {"EndpointConfigName": "c", "ProductionVariants": [{**variant, "InitialVariantWeight": 0.5}]}
    assert validate("CreateEndpointConfig", config)
    config["ProductionVariants"][0]["InitialVariantWeight"] = -0.5
    problem = only_problem(config, "CreateEndpointConfig")
    assert problem == (
        "Value '-0.5' at 'productionVariants.1.member.initialVariantWeight' failed to satisfy constraint: "
        "Member must have value greater than or equal to 0"
    )
    config["ProductionVariants"][0]["InitialVariantWeight"] = "heavy"
    with pytest.raises(SerializationError, match="Expected a number"):
        validate("CreateEndpointConfig", config)
