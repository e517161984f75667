"""The tenants services' refusals as problem details (registered with the API's exception handler in apps.py).

Codes are public API: never rename one.
"""

from __future__ import annotations

from typing import Any

from gateway.api.problems import Problem
from tenants.services import LastActiveApiKey, TenantExists


def tenant_exists_problem(exc: TenantExists, view: Any = None) -> Problem:
    return Problem(
        status_code=409,
        code="tenant_exists",
        title="Tenant exists",
        detail=str(exc),
        errors=[{"field": "external_id", "code": "unique", "message": "Already used by another tenant."}],
    )


def last_active_api_key_problem(exc: LastActiveApiKey, view: Any = None) -> Problem:
    return Problem(
        status_code=409,
        code="last_active_api_key",
        title="Last active API key",
        detail="This is the workspace's only active API key; revoking it would lock the workspace out. "
        "Create another key first.",
    )


PROBLEMS = (
    ((TenantExists,), tenant_exists_problem),
    ((LastActiveApiKey,), last_active_api_key_problem),
)
