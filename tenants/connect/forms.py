"""Forms of the connect pages: region choice, API key and the company picker (validation only; templates render
them). Their messages name the vendor and its companies in its own words."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

from connectors.base.connector import Region
from connectors.base.types import Company
from tenants.connect.messages import VendorWords


class RegionForm(forms.Form):
    region = forms.ChoiceField(widget=forms.RadioSelect)

    def __init__(self, *args: object, regions: Iterable[Region], words: VendorWords, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["region"]
        field.choices = [(region.code, region.name) for region in regions]  # type: ignore[attr-defined]
        field.error_messages["required"] = f"Choose the country of your {words.vendor} account."


class ApiKeyForm(forms.Form):
    api_key = forms.CharField(max_length=2000, strip=True, widget=forms.PasswordInput(render_value=False))

    def __init__(self, *args: object, words: VendorWords, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["api_key"].error_messages["required"] = f"Enter the API key of your {words.vendor} account."


class DivisionForm(forms.Form):
    divisions = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: object, companies: Iterable[Company], words: VendorWords, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["divisions"]
        field.choices = [(company.company_id, company.name) for company in companies]  # type: ignore[attr-defined]
        field.error_messages["required"] = f"Choose at least one {words.company} to connect."
