"""The IAM names of the principals this service knows; pure.

- A user is an access key of an account, named by the account: `arn:aws:iam::<account>:user/<name>`.
- A role is only a name: any role name exists in its account on first reference (nothing is stored), so
  its id is derived from the account and the name, and stays the same for every call.
- An assumed-role session (STS AssumeRole, or a training job's credentials):
  `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`, id `<role id>:<session name>`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

# AWS's prefix for role ids; the 17 characters after it are base32 of a digest here.
ROLE_ID_PREFIX = "AROA"
# The session name SageMaker gives the role a training job runs as.
JOB_SESSION_NAME = "SageMaker"


@dataclass(frozen=True, slots=True)
class Arn:
    """The parts of `arn:<partition>:<service>:<region>:<account>:<resource>`."""

    partition: str
    service: str
    region: str
    account_id: str
    resource: str


@dataclass(frozen=True, slots=True)
class RoleName:
    """A role's name and its path (`/` or `/service-role/`, …), as a role ARN's resource carries them."""

    name: str
    path: str = "/"


def parse_arn(text: str) -> Arn | None:
    """The ARN's parts, or None when `text` is not one."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])


def role_of(arn: Arn) -> RoleName | None:
    """The role an IAM role ARN (`role/[path/]name`) names; None for any other ARN."""
    if arn.service != "iam" or not arn.resource.startswith("role/"):
        return None
    path, _, name = arn.resource[len("role") :].rpartition("/")
    return RoleName(name, path + "/") if name else None


def user_arn(*, account_id: str, user_name: str) -> str:
    return f"arn:aws:iam::{account_id}:user/{user_name}"


def role_arn(*, account_id: str, role: RoleName) -> str:
    return f"arn:aws:iam::{account_id}:role{role.path}{role.name}"


def assumed_role_arn(*, account_id: str, role_name: str, session_name: str) -> str:
    return f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"


def role_id(*, account_id: str, role_name: str) -> str:
    """`AROA` and 17 characters of [A-Z2-7], the same for the same account and name."""
    digest = hashlib.sha256(f"{account_id}\0{role_name}".encode()).digest()
    return ROLE_ID_PREFIX + base64.b32encode(digest).decode()[:17]
