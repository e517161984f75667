"""unified_models/errors.py: the vendor's words in a problem are the connector's, as the connector split them."""

from __future__ import annotations

from connectors.base.errors import VendorError, VendorValidationError
from unified_models.errors import vendor_part


def test_the_vendor_part_keeps_each_message_the_connector_gave() -> None:
    # The core does not split on a vendor's separator (Exact's CRLF is split in connectors/exact/errors.py).
    refused = VendorValidationError("refused", status=400, vendor_messages=["Name: required\r\nstill one message"])
    assert vendor_part(refused) == {"status": 400, "messages": ["Name: required\r\nstill one message"]}


def test_without_vendor_messages_the_error_message_is_the_one_message() -> None:
    assert vendor_part(VendorError("Exact answered with an unexpected document.", status=502)) == {
        "status": 502,
        "messages": ["Exact answered with an unexpected document."],
    }
    assert vendor_part(VendorError("")) == {"status": None, "messages": []}
