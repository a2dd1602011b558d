"""The services answering the Query protocol, by the signing name of their credential scope.

CloudWatch's Query form (`monitoring`) joins by one more entry here."""

from __future__ import annotations

from app.api.query import iam, monitoring, sts
from app.api.query.registry import QueryService

SERVICES: dict[str, QueryService] = {
    service.name: service for service in (sts.SERVICE, iam.SERVICE, monitoring.SERVICE)
}
