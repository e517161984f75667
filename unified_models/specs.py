"""One spec per unified resource: its serializers, list filters, permitted writes and OpenAPI names and examples.

Routes (unified_models.urls), the serializer maps below and the schema of every record operation
(unified_models.openapi) are generated from `SPECS`; a new resource or operation is one entry here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from rest_framework import serializers

from connectors.base.data import Resource
from unified_models import openapi
from unified_models.codec import record_to_data, records_to_data
from unified_models.openapi import RECORD_EXAMPLES, OperationText
from unified_models.project_serializers import (
    CostEntryCreateSerializer,
    CostEntrySerializer,
    CostEntryUpdateSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    TimeEntryCreateSerializer,
    TimeEntrySerializer,
    TimeEntryUpdateSerializer,
)
from unified_models.serializers import (
    CompanyInfoSerializer,
    ContactCreateSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    InvoiceCreateSerializer,
    InvoiceSerializer,
    InvoiceUpdateSerializer,
    ItemCreateSerializer,
    ItemSerializer,
    JournalEntryCreateSerializer,
    JournalEntrySerializer,
    JournalSerializer,
    LedgerAccountSerializer,
    PaymentSerializer,
    PurchaseInvoiceCreateSerializer,
    PurchaseInvoiceSerializer,
    RecordSerializer,
    SalesOrderCreateSerializer,
    SalesOrderSerializer,
    TaxRateSerializer,
    write_response_serializer,
)

_BY_CONTACT = {"contact_id": "Only records of this contact (its `id`)."}
# Time and cost entries are booked on a project by an employee: either narrows a list, and both together.
_ENTRY_FILTERS = {
    "project_id": "Only entries on this project (its `id`).",
    "employee_id": "Only entries of this employee (the vendor's employee id).",
}


@dataclass(frozen=True)
class WriteSpec:
    """A permitted write: its input serializer (None: no body) and what the schema says about it."""

    serializer: type[serializers.Serializer] | None
    text: OperationText


@dataclass(frozen=True)
class ResourceSpec:
    """Everything the API layer knows about one resource; reads (list, retrieve) are always permitted."""

    resource: Resource
    name: str  # schema component and view name stem: `LedgerAccount` -> LedgerAccountPageSerializer
    what: str  # how summaries name the records: "List {what}", "Retrieve one of the {what}"
    record_serializer: type[RecordSerializer]
    # Exact-match list filters (name -> description); a connector that cannot apply one answers 422 naming it.
    filters: Mapping[str, str] = field(default_factory=dict)
    create: WriteSpec | None = None
    update: WriteSpec | None = None  # PATCH: only the fields given change
    finalize: WriteSpec | None = None  # invoices only: POST .../{id}/finalize
    delete: OperationText | None = None  # DELETE .../{id}: the vendor deletes the record (no body)
    # Files on a record: POST/GET .../{id}/attachments, GET .../{id}/attachments/{attachment_id} (a connector that
    # takes none for the resource answers 405).
    attachments: bool = False

    @property
    def example(self) -> dict[str, Any]:
        return RECORD_EXAMPLES[self.resource]

    @property
    def url_name(self) -> str:
        """`ledger-account`: the stem of the route names (ledger-account-list, ledger-account-detail)."""
        return "".join(f"-{c.lower()}" if c.isupper() else c for c in self.name).lstrip("-")

    @cached_property
    def write_response_serializer(self) -> type[serializers.Serializer]:
        """The record plus `warnings` and `mutation_id` (one class per resource: a named schema component)."""
        return write_response_serializer(self.record_serializer, f"{self.name}WriteResponseSerializer")


SPECS: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        Resource.CONTACTS,
        "Contact",
        "contacts (customers and suppliers)",
        ContactSerializer,
        create=WriteSpec(ContactCreateSerializer, openapi.CONTACTS_CREATE),
        update=WriteSpec(ContactUpdateSerializer, openapi.CONTACTS_UPDATE),
    ),
    ResourceSpec(
        Resource.INVOICES,
        "Invoice",
        "sales invoices and credit notes",
        InvoiceSerializer,
        filters=_BY_CONTACT,
        create=WriteSpec(InvoiceCreateSerializer, openapi.INVOICES_CREATE),
        update=WriteSpec(InvoiceUpdateSerializer, openapi.INVOICES_UPDATE),
        finalize=WriteSpec(None, openapi.INVOICES_FINALIZE),
        attachments=True,
    ),
    ResourceSpec(Resource.LEDGER_ACCOUNTS, "LedgerAccount", "ledger (G/L) accounts", LedgerAccountSerializer),
    ResourceSpec(Resource.TAX_RATES, "TaxRate", "tax rates (Exact: VAT codes)", TaxRateSerializer),
    ResourceSpec(Resource.JOURNALS, "Journal", "journals", JournalSerializer),
    ResourceSpec(
        Resource.ITEMS,
        "Item",
        "items (products and services)",
        ItemSerializer,
        create=WriteSpec(ItemCreateSerializer, openapi.ITEMS_CREATE),
    ),
    ResourceSpec(
        Resource.PAYMENTS,
        "Payment",
        "the payment state of invoices (receivables)",
        PaymentSerializer,
        filters=_BY_CONTACT,
    ),
    ResourceSpec(
        Resource.PURCHASE_INVOICES,
        "PurchaseInvoice",
        "purchase invoices (bills) and purchase credit notes",
        PurchaseInvoiceSerializer,
        filters=_BY_CONTACT,
        create=WriteSpec(PurchaseInvoiceCreateSerializer, openapi.PURCHASE_INVOICES_CREATE),
        attachments=True,
    ),
    ResourceSpec(
        Resource.JOURNAL_ENTRIES,
        "JournalEntry",
        "general journal entries",
        JournalEntrySerializer,
        create=WriteSpec(JournalEntryCreateSerializer, openapi.JOURNAL_ENTRIES_CREATE),
    ),
    ResourceSpec(
        Resource.SALES_ORDERS,
        "SalesOrder",
        "sales orders",
        SalesOrderSerializer,
        filters=_BY_CONTACT,
        create=WriteSpec(SalesOrderCreateSerializer, openapi.SALES_ORDERS_CREATE),
    ),
    ResourceSpec(
        Resource.PROJECTS,
        "Project",
        "projects",
        ProjectSerializer,
        filters=_BY_CONTACT,
        create=WriteSpec(ProjectCreateSerializer, openapi.PROJECTS_CREATE),
    ),
    ResourceSpec(
        Resource.TIME_ENTRIES,
        "TimeEntry",
        "time entries (hours booked on projects)",
        TimeEntrySerializer,
        filters=_ENTRY_FILTERS,
        create=WriteSpec(TimeEntryCreateSerializer, openapi.TIME_ENTRIES_CREATE),
        update=WriteSpec(TimeEntryUpdateSerializer, openapi.TIME_ENTRIES_UPDATE),
        delete=openapi.TIME_ENTRIES_DELETE,
    ),
    ResourceSpec(
        Resource.COST_ENTRIES,
        "CostEntry",
        "cost entries (costs booked on projects)",
        CostEntrySerializer,
        filters=_ENTRY_FILTERS,
        create=WriteSpec(CostEntryCreateSerializer, openapi.COST_ENTRIES_CREATE),
        update=WriteSpec(CostEntryUpdateSerializer, openapi.COST_ENTRIES_UPDATE),
        delete=openapi.COST_ENTRIES_DELETE,
    ),
)
SPEC_BY_RESOURCE: Mapping[Resource, ResourceSpec] = {spec.resource: spec for spec in SPECS}
# The record serializer of every resource the API shows (the company has its own view): the schema's description of
# what codec.record_to_data writes (tests/unified_models/test_codec.py holds the two equal).
RECORD_SERIALIZERS: Mapping[Resource, type[RecordSerializer]] = {
    **{spec.resource: spec.record_serializer for spec in SPECS},
    Resource.COMPANY: CompanyInfoSerializer,
}


def record_data(resource: Resource, record: Any, *, include_remote_data: bool = False) -> dict[str, Any]:
    """One record of `resource` as the API shows it (what its record serializer describes; unified_models.codec)."""
    return record_to_data(record, include_remote_data=include_remote_data)


def records_data(
    resource: Resource, records: Sequence[Any], *, include_remote_data: bool = False
) -> list[dict[str, Any]]:
    """A page of records as the API shows them (`record_data` of each)."""
    return records_to_data(records, include_remote_data=include_remote_data)


def dry_run_data(preview: Any) -> dict[str, Any]:
    """The body of a dry run's answer (a services.WritePreview in)."""
    return {
        "dry_run": True,
        "resource": preview.resource,
        "operation": preview.operation,
        "vendor_requests": [request.as_dict() for request in preview.vendor_requests],
    }
