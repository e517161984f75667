"""OpenAPI additions: the Problem schema, the error responses every operation can return, cross-field rules."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "urn:ledgerbridge:problem:invalid_api_key"},
        "title": {"type": "string", "example": "Authentication failed"},
        "status": {"type": "integer", "example": 401},
        "detail": {"type": "string", "example": "The API key is not known."},
        "code": {"type": "string", "description": "Stable machine-readable error code.", "example": "invalid_api_key"},
        "instance": {"type": "string", "example": "/api/v1/workspace"},
        "request_id": {"type": "string", "example": "5f0c6d1e2b7a4c4e9d3f1a2b3c4d5e6f"},
        "errors": {
            "type": "array",
            "description": "Per-field errors, present when the input was at fault.",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string", "example": "name"},
                    "code": {"type": "string", "example": "required"},
                    "message": {"type": "string", "example": "This field is required."},
                },
            },
        },
        "vendor": {
            "type": "object",
            "description": "What the accounting vendor said, when the vendor refused the request.",
            "properties": {
                "status": {
                    "type": "integer",
                    "nullable": True,
                    "description": "The vendor's HTTP status; null when it gave none (no answer, or refused before "
                    "a call, e.g. an id it could not have).",
                },
                "messages": {"type": "array", "items": {"type": "string"}},
            },
        },
        "retry_after": {"type": "integer", "description": "Seconds to wait before retrying (as `Retry-After`)."},
        "reason": {"type": "string", "description": "Why a connection cannot be used (409 connection_*)."},
        "mutation_id": {"type": "string", "format": "uuid", "description": "A failed write: its stored record."},
        "mutation_status": {
            "type": "string",
            "enum": ["pending", "sending", "succeeded", "failed", "in_doubt"],
            "description": "A failed write: `failed` (refused or not sent) or `in_doubt` (it may exist at the vendor; "
            "retrying with the same Idempotency-Key looks it up before sending again).",
        },
        "checks": {"type": "object", "additionalProperties": {"type": "string"}, "description": "readyz only."},
    },
}

# A serializer's `extend_schema_serializer(extensions={SCHEMA_NOT: ...})` becomes the component's JSON Schema `not`
# (drf-spectacular only passes `x-` extensions through): rules across fields, e.g. "not both a and b".
SCHEMA_NOT = "x-ledgerbridge-not"

_COMMON_ERRORS: dict[str, str] = {
    "400": "The request cannot be read as meant: a refused query parameter (`validation_error` naming it, "
    "`invalid_cursor`) or a query parameter given twice.",
    "401": "Missing, malformed, unknown or revoked API key.",
    "403": "The key may not do this.",
    "404": "No such resource in this workspace.",
    "413": "`payload_too_large`: the body is larger than the gateway accepts.",
    "415": "The body is not JSON.",
    "429": "Too many requests; see `Retry-After`.",
    "500": "Unexpected failure; quote `request_id`.",
    "503": "`service_unavailable`: a service the gateway depends on (Redis, the broker) is down; see `Retry-After`.",
}


# Writes: the body could not be read (400) or was read and its content refused (422). RFC 9110's split.
_WRITE_400 = (
    "The request cannot be read: `malformed_request` (not JSON, not UTF-8, nested too deep), "
    "`invalid_idempotency_key`, or a refused query parameter (`validation_error` naming it, `invalid_cursor`)."
)
_BODY_422 = (
    "`validation_error`: the body was read but its content is refused (a required member missing, a wrong type, "
    "a value out of range or not one of the allowed values); `errors` names each field by its dotted path."
)


# DRF's CharField refuses NUL characters (422 `null_characters_not_allowed`); request schemas say so, so a client
# generated from the schema never sends what the API refuses.
NO_NUL_PATTERN = "^[^\\x00]*$"


def _forbid_nul(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not ({"format", "enum", "pattern"} & schema.keys()):
        schema["pattern"] = NO_NUL_PATTERN
    for child in (*schema.get("properties", {}).values(), schema.get("items"), schema.get("additionalProperties")):
        _forbid_nul(child)


def forbid_nul_in_request_strings(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: free-text request strings exclude NUL (COMPONENT_SPLIT_REQUEST names
    every request component `…Request`)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _forbid_nul(component)
    return result


def add_problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document problem details on every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for component in schemas.values():
        if isinstance(component, dict) and SCHEMA_NOT in component:
            component["not"] = component.pop(SCHEMA_NOT)
    problem_ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            secured = operation.get("security") != [{}] and bool(operation.get("security", True))
            for status_code, description in _COMMON_ERRORS.items():
                if status_code in {"401", "403"} and not secured:
                    continue
                if status_code in {"413", "415"} and method in {"get", "delete"}:
                    continue
                if status_code == "400" and method in {"post", "put", "patch"}:
                    description = _WRITE_400
                responses.setdefault(status_code, {"description": description, "content": problem_ref})
            if method in {"post", "put", "patch"}:
                # Every write's input serializer (or form fields) may refuse the body it read: 422.
                unprocessable = responses.setdefault("422", {"description": _BODY_422, "content": problem_ref})
                if "validation_error" not in unprocessable.get("description", ""):
                    unprocessable["description"] = f"{unprocessable.get('description', '')} {_BODY_422}".strip()
    return result
