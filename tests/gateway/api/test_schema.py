"""gateway/api/schema.py: the postprocessing hooks: request strings that state they exclude NUL, cross-field
rules as JSON Schema `not`, and problem responses on every operation (401/403 only where a key is needed,
413/415 only where a body is sent)."""

from __future__ import annotations

import copy
from typing import Any

from gateway.api import schema


def _result() -> dict[str, Any]:
    return {
        "components": {
            "schemas": {
                "InvoiceRequest": {
                    "type": "object",
                    "properties": {
                        "reference": {"type": "string"},
                        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                        "issue_date": {"type": "string", "format": "date"},
                        "status": {"type": "string", "enum": ["draft"]},
                        "lines": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"d": {"type": "string"}}},
                        },
                        "meta": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "Invoice": {"type": "object", "properties": {"reference": {"type": "string"}}},
                "LineRequest": {"type": "object", schema.SCHEMA_NOT: {"required": ["tax_rate", "tax_code"]}},
            }
        },
        "paths": {
            "/api/v1/invoices": {
                "get": {"responses": {"200": {"description": "ok"}}},
                "post": {"responses": {"201": {"description": "created"}, "400": {"description": "our own"}}},
                "parameters": [],
            },
            "/healthz": {"get": {"security": [{}], "responses": {"200": {"description": "ok"}}}},
        },
    }


def test_free_text_request_strings_exclude_nul_and_nothing_else_changes() -> None:
    result = schema.forbid_nul_in_request_strings(_result(), None, None, True)
    props = result["components"]["schemas"]["InvoiceRequest"]["properties"]
    assert props["reference"]["pattern"] == schema.NO_NUL_PATTERN
    assert props["lines"]["items"]["properties"]["d"]["pattern"] == schema.NO_NUL_PATTERN
    assert props["meta"]["additionalProperties"]["pattern"] == schema.NO_NUL_PATTERN
    assert props["currency"]["pattern"] == "^[A-Z]{3}$"  # a pattern of its own stays
    assert "pattern" not in props["issue_date"] and "pattern" not in props["status"]
    assert "pattern" not in result["components"]["schemas"]["Invoice"]["properties"]["reference"]  # responses


def test_every_operation_documents_its_problems_and_keeps_its_own_answers() -> None:
    result = schema.add_problem_responses(copy.deepcopy(_result()), None, None, True)
    schemas = result["components"]["schemas"]
    assert schemas["Problem"] is schema.PROBLEM_SCHEMA
    assert schemas["LineRequest"] == {"type": "object", "not": {"required": ["tax_rate", "tax_code"]}}

    invoices = result["paths"]["/api/v1/invoices"]
    listed, created = invoices["get"]["responses"], invoices["post"]["responses"]
    assert {"401", "403", "404", "429", "500", "503"} <= listed.keys() and not {"413", "415"} & listed.keys()
    assert {"413", "415"} <= created.keys() and created["400"] == {"description": "our own"}
    ref = created["401"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/Problem"
    health = result["paths"]["/healthz"]["get"]["responses"]
    assert not {"401", "403"} & health.keys() and "500" in health


def test_writes_document_422_validation_error_and_reads_keep_400_for_their_query() -> None:
    result = _result()
    result["paths"]["/api/v1/invoices"]["put"] = {
        "responses": {"200": {"description": "ok"}, "422": {"description": "`invalid_input`."}}
    }
    result = schema.add_problem_responses(result, None, None, True)
    invoices = result["paths"]["/api/v1/invoices"]
    created, replaced, listed = (invoices[method]["responses"] for method in ("post", "put", "get"))
    assert "validation_error" in created["422"]["description"]
    assert created["422"]["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem"
    # An operation's own 422 keeps its text and gains the body's validation_error.
    assert replaced["422"]["description"].startswith("`invalid_input`.")
    assert "validation_error" in replaced["422"]["description"]
    assert "malformed_request" in replaced["400"]["description"]
    # A read has no body to refuse: its 400 is about the query, and no 422 is added for it.
    assert "query parameter" in listed["400"]["description"] and "422" not in listed
