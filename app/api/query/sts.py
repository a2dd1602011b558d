"""STS over the Query protocol: who the caller is, and temporary credentials of the caller's account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.api.query.errors import QueryAccessDenied
from app.api.query.registry import QueryService
from app.auth.caller import Caller
from app.errors import ValidationError
from app.iam import principals
from app.services import Services

# STS's default session length when AssumeRole names none.
DEFAULT_DURATION_SECONDS = 3600


def get_caller_identity(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """The account, the ARN and the id of the principal the request was signed as."""
    if caller.role_session is not None:
        role_name, _, session_name = caller.role_session.partition("/")
        return _session_identity(caller.account_id, role_name, session_name)
    if caller.job_name is not None:
        # A job's credentials act as the role the job was created with, in SageMaker's session.
        job = services.jobs.describe(caller.job_name, caller=caller)
        role = principals.role_of(_arn(job["RoleArn"]))
        role_name = role.name if role else job["RoleArn"]
        return _session_identity(caller.account_id, role_name, principals.JOB_SESSION_NAME)
    account = services.identities.account(caller.account_id)
    arn = principals.user_arn(account_id=caller.account_id, user_name=account.name)
    return {"UserId": caller.access_key_id, "Account": caller.account_id, "Arn": arn}


def assume_role(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """Session credentials of the caller's account for one of its roles, valid `DurationSeconds`."""
    role_arn = params["RoleArn"]
    arn = _arn(role_arn)
    role = principals.role_of(arn)
    if role is None:
        raise ValidationError(f"{role_arn} is not a valid role ARN (arn:aws:iam::<account>:role/<name>).")
    if arn.account_id != caller.account_id:
        raise QueryAccessDenied(
            f"Account {caller.account_id} is not authorized to perform: sts:AssumeRole on resource: "
            + role_arn
        )
    session_name = params["RoleSessionName"]
    credentials = services.identities.issue_role_credentials(
        caller.account_id,
        role_name=role.name,
        session_name=session_name,
        ttl=dt.timedelta(seconds=params.get("DurationSeconds", DEFAULT_DURATION_SECONDS)),
    )
    identity = _session_identity(caller.account_id, role.name, session_name)
    return {
        "Credentials": {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token,
            "Expiration": credentials.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": identity["UserId"], "Arn": identity["Arn"]},
        "PackedPolicySize": 0,
    }


def _session_identity(account_id: str, role_name: str, session_name: str) -> dict[str, Any]:
    role_id = principals.role_id(account_id=account_id, role_name=role_name)
    arn = principals.assumed_role_arn(account_id=account_id, role_name=role_name, session_name=session_name)
    return {"UserId": f"{role_id}:{session_name}", "Account": account_id, "Arn": arn}


def _arn(text: str) -> principals.Arn:
    arn = principals.parse_arn(text)
    if arn is None:
        raise ValidationError(f"{text} is not a valid ARN.")
    return arn


SERVICE = QueryService(
    name="sts", handlers={"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}
)
