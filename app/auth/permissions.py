"""What a caller may do beyond its own account's resources: operator (admin) actions."""

from __future__ import annotations

from app.auth.caller import Caller
from app.errors import ServiceError


class AdminRequired(ServiceError):
    """The call is for operators: the caller's key is not an admin key."""

    code = "AccessDeniedException"
    http_status = 400  # AWS's JSON protocol answers AccessDeniedException with 400
    rest_status = 403

    def __init__(self, message: str = "This operation requires an admin access key.") -> None:
        super().__init__(message)


def require_admin(caller: Caller) -> Caller:
    """The caller, if it holds an admin key; `AdminRequired` otherwise."""
    if not caller.is_admin:
        raise AdminRequired()
    return caller
