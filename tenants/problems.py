"""The tenants services' refusals as problem details (registered with the API's exception handler in apps.py).

Codes are public API: never rename one.
"""

from __future__ import annotations

from typing import Any

from gateway.api.problems import Problem
from tenants.services import InvalidInput, LastActiveApiKey, TenantExists

# Problem codes of their own (not plain validation errors): public API, never rename.
_OWN_PROBLEM_CODES = {"redirect_url_not_allowed": "Redirect URL not allowed"}


def invalid_input_problem(exc: InvalidInput, view: Any = None) -> Problem:
    """400 `validation_error` naming the field (or a code of its own, such as `redirect_url_not_allowed`)."""
    code = exc.code if exc.code in _OWN_PROBLEM_CODES else "validation_error"
    return Problem(
        status_code=400,
        code=code,
        title="Validation failed" if code == "validation_error" else _OWN_PROBLEM_CODES[code],
        detail=exc.message,
        errors=[{"field": exc.field, "code": exc.code, "message": exc.message}],
    )


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
    ((InvalidInput,), invalid_input_problem),
    ((TenantExists,), tenant_exists_problem),
    ((LastActiveApiKey,), last_active_api_key_problem),
)
