"""tenants/connect/forms.py: the connect pages' forms accept only what the connector offers and word their
errors with the vendor's name and its noun for a company."""

from __future__ import annotations

from connectors.base.types import Company
from connectors.registry import get_connector
from tenants.connect.forms import ApiKeyForm, DivisionForm, RegionForm
from tenants.connect.messages import VendorWords

EXACT = get_connector("exact")
WORDS = VendorWords.of(EXACT)


def test_a_region_must_be_one_of_the_connectors() -> None:
    regions = EXACT.regions().values()
    assert RegionForm({"region": "nl"}, regions=regions, words=WORDS).is_valid()
    assert not RegionForm({"region": "mars"}, regions=regions, words=WORDS).is_valid()
    missing = RegionForm({}, regions=regions, words=WORDS)
    assert not missing.is_valid()
    assert missing.errors["region"] == [f"Choose the country of your {EXACT.name} account."]


def test_an_api_key_is_trimmed_and_required() -> None:
    form = ApiKeyForm({"api_key": "  key-123  "}, words=WORDS)
    assert form.is_valid() and form.cleaned_data["api_key"] == "key-123"
    blank = ApiKeyForm({"api_key": "   "}, words=WORDS)
    assert not blank.is_valid() and blank.errors["api_key"] == [f"Enter the API key of your {EXACT.name} account."]


def test_only_companies_the_grant_covers_can_be_picked_and_at_least_one() -> None:
    companies = [Company("101", "Main"), Company("102", "Second")]
    picked = DivisionForm({"divisions": ["101", "102"]}, companies=companies, words=WORDS)
    assert picked.is_valid() and picked.cleaned_data["divisions"] == ["101", "102"]
    assert not DivisionForm({"divisions": ["103"]}, companies=companies, words=WORDS).is_valid()
    none = DivisionForm({}, companies=companies, words=WORDS)
    assert not none.is_valid() and none.errors["divisions"] == [f"Choose at least one {WORDS.company} to connect."]
