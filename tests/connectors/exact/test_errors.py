"""connectors/exact/errors.py: Exact's CRLF-joined message texts become one message each (NOTES.md, Error texts)."""

from __future__ import annotations

import httpx

from connectors.base.errors import VendorValidationError
from connectors.exact.errors import error_for_response, exact_messages_split


def test_crlf_joined_messages_are_split_and_trimmed() -> None:
    assert exact_messages_split("Verplicht: Factuur voor\r\nVerplicht: Besteld door \r\n\r\n") == [
        "Verplicht: Factuur voor",
        "Verplicht: Besteld door",
    ]
    assert exact_messages_split("") == []


def test_an_error_document_becomes_a_validation_error_with_one_entry_per_message() -> None:
    body = {"error": {"code": "", "message": {"lang": "", "value": "Verplicht: Factuur voor\r\nVerplicht: Artikel"}}}
    error = error_for_response(httpx.Response(400, json=body))
    assert isinstance(error, VendorValidationError)
    assert error.vendor_messages == ["Verplicht: Factuur voor", "Verplicht: Artikel"]
