"""Forms of the connect pages: region choice and the division picker (validation only; templates render them)."""

from __future__ import annotations

from collections.abc import Iterable

from django import forms

from connectors.base.connector import Region
from connectors.base.types import Company


class RegionForm(forms.Form):
    region = forms.ChoiceField(
        widget=forms.RadioSelect, error_messages={"required": "Choose the country of your Exact Online account."}
    )

    def __init__(self, *args: object, regions: Iterable[Region], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["region"].choices = [(region.code, region.name) for region in regions]  # type: ignore[attr-defined]


class DivisionForm(forms.Form):
    divisions = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one administration to connect."},
    )

    def __init__(self, *args: object, companies: Iterable[Company], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["divisions"].choices = [  # type: ignore[attr-defined]
            (company.company_id, company.name) for company in companies
        ]
