"""The errors CloudWatch Logs and CloudWatch answer with, under their own codes."""

from __future__ import annotations

from app.errors import ServiceError


class LogsResourceNotFound(ServiceError):
    """An unknown log group or stream (CloudWatch Logs, a JSON 1.1 service, answers 400)."""

    code = "ResourceNotFoundException"
    http_status = 400
    rest_status = 404


class InvalidParameter(ServiceError):
    """CloudWatch Logs' refusal of a parameter (or combination) it cannot serve."""

    code = "InvalidParameterException"
    http_status = 400


class InvalidParameterValue(ServiceError):
    """CloudWatch's refusal of a parameter value."""

    code = "InvalidParameterValue"
    http_status = 400


class InvalidParameterCombination(ServiceError):
    """CloudWatch's refusal of parameters that exclude each other."""

    code = "InvalidParameterCombination"
    http_status = 400


class MissingParameter(ServiceError):
    """CloudWatch's refusal of a request without a parameter its operation needs."""

    code = "MissingParameter"
    http_status = 400


class InvalidNextToken(ServiceError):
    """CloudWatch's refusal of a pagination token it did not issue for this request."""

    code = "InvalidNextToken"
    http_status = 400
