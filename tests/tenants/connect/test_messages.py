"""tenants/connect/messages.py: every error page text worded for each configured connector (its name and its
word for a company), never a placeholder left, a sentence never starting in lower case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.registry import get_connector
from tenants.connect import services, views
from tenants.connect.messages import ERRORS, VendorWords, error_text


@pytest.mark.parametrize("connector_id", ["exact", "xero"])
def test_every_error_is_worded_in_the_vendors_own_terms(connector_id: str) -> None:
    connector = get_connector(connector_id)
    words = VendorWords.of(connector)
    assert words.vendor == connector.name and words.company == connector.info.company_noun.singular

    for code in ERRORS:
        text = error_text(code, words)
        for sentence in (text.title, text.message):
            assert "{" not in sentence and "}" not in sentence, (code, sentence)
            assert sentence[0].isupper(), (code, sentence)
        assert 400 <= text.http_status < 600


def test_the_companies_are_named_with_the_vendors_noun() -> None:
    exact, xero = VendorWords.of(get_connector("exact")), VendorWords.of(get_connector("xero"))
    assert exact.company != xero.company  # "administration" vs "organisation"
    text = error_text("no_division_granted", xero)
    assert text.title == f"No {xero.company} was shared" and xero.vendor in text.message


def test_without_a_known_connector_the_pages_speak_of_the_accounting_system() -> None:
    text = error_text("vendor_unavailable", VendorWords.of(None))
    assert text.title == "The accounting system is not reachable right now"
    assert text.http_status == 502


def test_an_unknown_code_gets_the_generic_text() -> None:
    text = error_text("no_such_code", VendorWords.of(None))
    assert (text.title, text.http_status) == ("Something went wrong", 400)


def test_every_code_the_connect_flow_raises_has_its_own_text() -> None:
    """A code raised by the flow but missing here would reach the user as the generic "Something went wrong"."""
    raised = {
        code
        for module in (services, views)
        for code in re.findall(r'FlowError\(\s*"([a-z_]+)"', Path(module.__file__ or "").read_text())
    }
    assert {"invalid_region", "no_division_chosen"} <= raised
    assert raised - set(ERRORS) == set()
