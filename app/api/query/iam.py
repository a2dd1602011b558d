"""IAM over the Query protocol: the roles an account names (each exists on first reference) and policy
simulation, which allows everything to the account's own principals and nothing to another account's."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from app.api.query.registry import QueryService
from app.auth.caller import Caller
from app.errors import ValidationError
from app.iam import principals
from app.services import Services

# The trust policy of a SageMaker execution role; IAM returns policy documents URL-encoded.
TRUST_POLICY = quote(
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        separators=(",", ":"),
    ),
    safe="",
)
MAX_SESSION_DURATION = 3600


def get_role(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """The role of the caller's account with this name; created (in name only) when first asked for.

    Its creation date is the account's: a role that exists on first reference has existed all along."""
    account = services.identities.account(caller.account_id)
    role = principals.RoleName(params["RoleName"])
    return {
        "Role": {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": principals.role_id(account_id=caller.account_id, role_name=role.name),
            "Arn": principals.role_arn(account_id=caller.account_id, role=role),
            "CreateDate": account.created_at,
            "AssumeRolePolicyDocument": TRUST_POLICY,
            "MaxSessionDuration": MAX_SESSION_DURATION,
        }
    }


def simulate_principal_policy(services: Services, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
    """Each action on each resource: `allowed` for the caller's own account, `implicitDeny` otherwise."""
    source = principals.parse_arn(params["PolicySourceArn"])
    if source is None:
        raise ValidationError(f"{params['PolicySourceArn']} is not a valid ARN.")
    decision = "allowed" if source.account_id == caller.account_id else "implicitDeny"
    results = [
        {
            "EvalActionName": action,
            "EvalResourceName": resource,
            "EvalDecision": decision,
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        for action in params.get("ActionNames", [])
        for resource in params.get("ResourceArns", ["*"])
    ]
    return {"EvaluationResults": results, "IsTruncated": False}


SERVICE = QueryService(
    name="iam", handlers={"GetRole": get_role, "SimulatePrincipalPolicy": simulate_principal_policy}
)
