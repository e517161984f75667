"""XML request bodies (pyxero writes XML) and XML responses (Xero's default without Accept: application/json)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, fromstring, tostring

# Plural element -> the element name of its items (NOTES.md "Formats": `<Invoices><Invoice>…`).
PLURALS: dict[str, str] = {
    "Accounts": "Account",
    "Addresses": "Address",
    "Allocations": "Allocation",
    "Attachments": "Attachment",
    "ContactGroups": "ContactGroup",
    "ContactPersons": "ContactPerson",
    "Contacts": "Contact",
    "CreditNotes": "CreditNote",
    "Elements": "DataContractBase",
    "Invoices": "Invoice",
    "Items": "Item",
    "JournalLines": "JournalLine",
    "LineItems": "LineItem",
    "ManualJournals": "ManualJournal",
    "Organisations": "Organisation",
    "Overpayments": "Overpayment",
    "Payments": "Payment",
    "Phones": "Phone",
    "Prepayments": "Prepayment",
    "TaxComponents": "TaxComponent",
    "TaxRates": "TaxRate",
    "Tracking": "TrackingCategory",
    "ValidationErrors": "ValidationError",
    "Warnings": "Warning",
}
SINGULARS = {singular: plural for plural, singular in PLURALS.items()}


class XmlError(ValueError):
    """The body is not well-formed XML (or declares a DOCTYPE, which the sandbox never accepts)."""


def parse_xml(data: bytes) -> Element:
    # No DTDs at all: entity expansion is the only XML attack left to ElementTree, and Xero bodies need none.
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise XmlError("DTDs are not accepted")
    try:
        return fromstring(data)  # noqa: S314  (DTDs refused above)
    except ParseError as exc:
        raise XmlError(str(exc)) from None


def _element_to_value(element: Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if element.tag in PLURALS:
        return [_element_to_value(child) if len(child) else {} for child in children]
    return {child.tag: _element_to_value(child) for child in children}


def parse_body(data: bytes) -> tuple[str, list[dict[str, Any]], bool]:
    """(root tag, elements, wrapped) from `<Invoices><Invoice>…</Invoices>` or a single `<Invoice>…`."""
    root = parse_xml(data)
    if root.tag in PLURALS:
        items = [_element_to_value(child) for child in root if child.tag == PLURALS[root.tag]]
        return root.tag, [item if isinstance(item, dict) else {} for item in items], True
    value = _element_to_value(root)
    return root.tag, [value if isinstance(value, dict) else {}], False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _fill(element: Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if value is None:
            continue
        child = SubElement(element, key)
        if isinstance(value, dict):
            _fill(child, value)
        elif isinstance(value, list):
            item_tag = PLURALS.get(key, key[:-1] if key.endswith("s") else key)
            for item in value:
                node = SubElement(child, item_tag)
                if isinstance(item, dict):
                    _fill(node, item)
                else:
                    node.text = _text(item)
        else:
            child.text = _text(value)


def render(root_tag: str, data: dict[str, Any]) -> bytes:
    element = Element(root_tag)
    _fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="unicode").encode("utf-8")
