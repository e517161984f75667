"""OpenAPI text of the unified data API: parameters, problem responses, examples, and the schema of each operation.

The schema of the record endpoints is generated from the resource specs (unified_models.specs) by `list_schema`,
`retrieve_schema` and `write_schema`; the mapping and passthrough operations are written out at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)

from connectors.base.data import Resource
from gateway.api.idempotency import IDEMPOTENCY_KEY_PARAMETER
from unified_models.query import DEFAULT_PAGE_SIZE
from unified_models.serializers import (
    AttachedSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    CompanyInfoSerializer,
    DeleteResponseSerializer,
    DryRunResponseSerializer,
    LedgerMappingOutputSerializer,
    LedgerMappingSerializer,
    MutationListFilterSerializer,
    MutationSerializer,
    PassthroughRequestSerializer,
    PassthroughResponseSerializer,
    ReconciliationCreateSerializer,
    ReconciliationSerializer,
    page_serializer,
)

if TYPE_CHECKING:
    from unified_models.specs import ResourceSpec, WriteSpec

# --- parameters and problem responses ----------------------------------------------------------------------------

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
CONNECTION_ID = OpenApiParameter(
    "connection_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="A connection of your workspace."
)
RECORD_ID = OpenApiParameter("record_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The record's `id`.")
INCLUDE = OpenApiParameter(
    "include",
    OpenApiTypes.STR,
    enum=["remote_data"],
    description="`remote_data` adds the vendor's raw object to each record.",
)
DRY_RUN = OpenApiParameter(
    "dry_run",
    {"type": "string", "enum": ["true", "false"]},
    description="`true`: check the input, the mapping and the vendor's known rules and answer the vendor payload "
    "(`vendor_requests`, byte for byte what a real write sends) without recording or writing anything; "
    "an `Idempotency-Key` is ignored.",
)


def with_dry_run(name: str, written: Any) -> Any:
    """A 200 answer that is either the write's result or a dry run's (both are 200 for these writes)."""
    return PolymorphicProxySerializer(
        component_name=name, serializers=[written, DryRunResponseSerializer], resource_type_field_name=None
    )


MODE = OpenApiParameter(
    "mode",
    OpenApiTypes.STR,
    enum=["store", "live"],
    description="`store` (default): from the gateway's synced copy once the resource's first sync completed (no "
    "vendor call); `live`: from the vendor.",
)
LIST_PARAMETERS = [
    CONNECTION_ID,
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Opaque cursor from a previous page's `next`."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 200},
        description=f"Records per page, 1 to 200 (default {DEFAULT_PAGE_SIZE}).",
    ),
    OpenApiParameter(
        "updated_after",
        {"type": "string", "format": "date-time", "minLength": 1},
        description="Only records changed after this moment (ISO-8601; without a zone: UTC).",
    ),
    INCLUDE,
    MODE,
]


_PROBLEM_DESCRIPTIONS = {
    404: "`not_found`: no such connection in your workspace, or no such record at the vendor.",
    405: "`operation_not_supported`: the vendor cannot do this for this resource.",
    409: "`connection_needs_reauth` / `connection_disabled` (with `reason`): reconnect the connection first; "
    "`mutation_in_flight`, `idempotency_key_in_flight`: the same write is being sent; `mutation_in_doubt`: the "
    "vendor's answer was lost and the write is looked up once it settles (`Retry-After`); "
    "`mutation_not_retryable`; `sync_running` (with `run_id`): a sync run of the resource is under way.",
    422: "`mapping_missing` (field `mapping.<field>`, nothing sent), `vendor_validation_failed` (the vendor's "
    "messages in `vendor.messages`), `invalid_input` (also a list filter the vendor cannot apply), "
    "`idempotency_key_reused`, `sync_not_supported` (no local copy of that resource).",
    429: "`vendor_rate_limited`: the vendor's budget for this company is spent; see `Retry-After`. "
    "`rate_limited`: the gateway's own limit per API key.",
    502: "`vendor_auth_failed`, `vendor_error`: the vendor answered with an unexpected error.",
    503: "`vendor_unavailable`: the vendor did not answer or failed; a write stays recorded (`mutation_status` "
    "`failed`, or `in_doubt` when the vendor may have applied it) and is safe to retry with the same "
    "Idempotency-Key after `Retry-After`. `service_unavailable`: Redis or the broker is down.",
}

_EXAMPLE_MAPPING_MISSING = OpenApiExample(
    "Mapping missing",
    value={
        "type": "urn:ledgerbridge:problem:mapping_missing",
        "title": "Mapping missing",
        "status": 422,
        "detail": "The connection's ledger mapping cannot translate this write: lines[2]: no tax rate mapping for "
        "9 %. Fill it in with PUT /connections/{id}/mapping. Nothing was sent to the vendor.",
        "code": "mapping_missing",
        "request_id": "5f0c6d1e2b7a4c4e9d3f1a2b3c4d5e6f",
        "errors": [
            {"field": "mapping.tax_rates", "code": "missing", "message": "lines[2]: no tax rate mapping for 9 %."}
        ],
    },
    response_only=True,
    status_codes=["422"],
)
_EXAMPLE_VENDOR_REFUSED = OpenApiExample(
    "Vendor refused",
    value={
        "type": "urn:ledgerbridge:problem:vendor_validation_failed",
        "title": "Vendor refused the request",
        "status": 422,
        "detail": "The vendor refused the request: Ongeldige referentie: Factuur aan; "
        "Ongeldige referentie: Besteld door",
        "code": "vendor_validation_failed",
        "request_id": "5f0c6d1e2b7a4c4e9d3f1a2b3c4d5e6f",
        "vendor": {
            "status": 500,
            "messages": ["Ongeldige referentie: Factuur aan", "Ongeldige referentie: Besteld door"],
        },
    },
    response_only=True,
    status_codes=["422"],
)


def _problems(*codes: int, examples: list[OpenApiExample] | None = None) -> dict[Any, OpenApiResponse]:
    """Problem responses (application/problem+json) for these statuses; `examples` go with their status."""
    return {
        (code, "application/problem+json"): OpenApiResponse(
            response=_PROBLEM_REF,
            description=_PROBLEM_DESCRIPTIONS[code],
            examples=[example for example in examples or [] if str(code) in (example.status_codes or [])],
        )
        for code in codes
    }


def problem_responses(*codes: int) -> dict[Any, OpenApiResponse]:
    """Problem responses for these statuses (for views outside the record specs)."""
    return _problems(*codes)


READ_PROBLEMS = (404, 405, 409, 429, 502, 503)
LIST_PROBLEMS = (*READ_PROBLEMS, 422)
WRITE_PROBLEMS = (404, 405, 409, 422, 429, 502, 503)

# --- examples ------------------------------------------------------------------------------------------------

_CONTACT_EXAMPLE = {
    "id": "8d7c2f0e-3b1a-4c5d-9e8f-7a6b5c4d3e2f",
    "remote_id": "8d7c2f0e-3b1a-4c5d-9e8f-7a6b5c4d3e2f",
    "name": "Fietsenmakerij Van Dam",
    "code": "1042",
    "is_customer": True,
    "is_supplier": False,
    "email": "info@vandam.example",
    "phone": "+31 20 123 4567",
    "website": None,
    "vat_number": "NL001234567B01",
    "chamber_of_commerce_number": "12345678",
    "addresses": [
        {
            "type": "main",
            "line1": "Damstraat 1",
            "line2": None,
            "postal_code": "1012 JL",
            "city": "Amsterdam",
            "region": None,
            "country": "NL",
        }
    ],
    "currency": "EUR",
    "status": "active",
    "created_at": "2025-03-01T09:30:00Z",
    "updated_at": "2025-03-01T09:30:00Z",
}
_CONTACT_INPUT = {
    "name": "Fietsenmakerij Van Dam",
    "is_customer": True,
    "email": "info@vandam.example",
    "vat_number": "NL001234567B01",
    "addresses": [
        {"type": "main", "line1": "Damstraat 1", "postal_code": "1012 JL", "city": "Amsterdam", "country": "NL"}
    ],
}
_INVOICE_INPUT = {
    "contact_id": "8d7c2f0e-3b1a-4c5d-9e8f-7a6b5c4d3e2f",
    "reference": "ORDER-2025-0042",
    "description": "March services",
    "due_date": "2025-04-01",
    "lines": [
        {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"},
        {"description": "Handbook", "quantity": "1", "unit_price": "39.95", "tax_rate": "9"},
        {"description": "Export service", "quantity": "1", "unit_price": "50.00", "tax_code": "zero"},
    ],
}
_INVOICE_EXAMPLE = {
    "id": "4a1e2b3c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
    "remote_id": "4a1e2b3c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
    "number": None,
    "type": "invoice",
    "status": "open",
    "finalized": False,
    "contact_id": "8d7c2f0e-3b1a-4c5d-9e8f-7a6b5c4d3e2f",
    "issue_date": None,
    "due_date": "2025-04-01",
    "currency": "EUR",
    "reference": "ORDER-2025-0042",
    "description": "March services",
    "journal_code": "70",
    "corrects_invoice_id": None,
    "lines": [
        {
            "id": "b1",
            "description": "Consultancy",
            "quantity": "2",
            "unit_price": "100",
            "item_id": "c0f1...",
            "ledger_account_id": "9a8b...",
            "tax_rate_id": "2",
            "net_amount": "200.00",
            "tax_amount": "42.00",
        },
        {
            "id": "b2",
            "description": "Handbook",
            "quantity": "1",
            "unit_price": "39.95",
            "item_id": "c0f1...",
            "ledger_account_id": "9a8b...",
            "tax_rate_id": "1",
            "net_amount": "39.95",
            "tax_amount": "3.60",
        },
        {
            "id": "b3",
            "description": "Export service",
            "quantity": "1",
            "unit_price": "50",
            "item_id": "c0f1...",
            "ledger_account_id": "9a8b...",
            "tax_rate_id": "0",
            "net_amount": "50.00",
            "tax_amount": "0.00",
        },
    ],
    "net_total": "289.95",
    "tax_total": "45.60",
    "total": "335.55",
    "created_at": "2025-03-01T09:30:00Z",
    "updated_at": "2025-03-01T09:30:00Z",
}
_WARNING_EXAMPLE = {
    "code": "exact_assigns_invoice_number",
    "field": "number",
    "message": "Exact assigns the invoice number from the journal's number range; the given number was not stored.",
}
RECORD_EXAMPLES: dict[Resource, dict[str, Any]] = {
    Resource.CONTACTS: _CONTACT_EXAMPLE,
    Resource.INVOICES: _INVOICE_EXAMPLE,
    Resource.LEDGER_ACCOUNTS: {
        "id": "7e6d...",
        "remote_id": "7e6d...",
        "code": "8000",
        "name": "Omzet hoog",
        "classification": "revenue",
        "status": "active",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    },
    Resource.TAX_RATES: {
        "id": "2",
        "remote_id": "5b4a...",
        "code": "2",
        "name": "21% VH verkoop excl",
        "rate": "21",
        "type": "exclusive",
        "usage": "sales",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    },
    Resource.JOURNALS: {
        "id": "1c2d...",
        "remote_id": "1c2d...",
        "code": "70",
        "name": "Verkoopboek",
        "type": "sales",
        "currency": "EUR",
        "status": "active",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    },
    Resource.ITEMS: {
        "id": "c0f1...",
        "remote_id": "c0f1...",
        "code": "CONSULT",
        "name": "Consultancy per uur",
        "description": None,
        "unit_price": "95.00",
        "currency": "EUR",
        "sales_tax_rate_id": "2",
        "revenue_ledger_account_id": "7e6d...",
        "is_sales_item": True,
        "status": "active",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    },
    Resource.PAYMENTS: {
        "id": "e5f6...",
        "remote_id": "e5f6...",
        "invoice_id": "4a1e...",
        "invoice_number": "25700001",
        "contact_id": "8d7c...",
        "amount": "335.55",
        "open_amount": "0.00",
        "currency": "EUR",
        "invoice_date": "2025-03-01",
        "due_date": "2025-04-01",
        "is_fully_paid": True,
        "last_payment_date": "2025-03-20",
        "reference": "ORDER-2025-0042",
        "status": "paid",
        "created_at": "2025-03-01T09:30:00Z",
        "updated_at": "2025-03-20T10:00:00Z",
    },
    Resource.JOURNAL_ENTRIES: {
        "id": "f1e2...",
        "remote_id": "f1e2...",
        "number": "90000001",
        "journal_code": "90",
        "date": "2025-03-31",
        "currency": "EUR",
        "finalized": False,
        "lines": [
            {
                "id": "a1b2...",
                "ledger_account_id": "4a5b...",
                "contact_id": None,
                "description": "Afschrijving maart",
                "debit": "250.00",
                "credit": "0.00",
                "tax_rate_id": None,
                "tax_amount": "0.00",
            },
            {
                "id": "b2c3...",
                "ledger_account_id": "6c7d...",
                "contact_id": None,
                "description": "Afschrijving maart",
                "debit": "0.00",
                "credit": "250.00",
                "tax_rate_id": None,
                "tax_amount": "0.00",
            },
        ],
        "total_debit": "250.00",
        "total_credit": "250.00",
        "created_at": "2025-03-31T16:00:00Z",
        "updated_at": "2025-03-31T16:00:00Z",
    },
    Resource.SALES_ORDERS: {
        "id": "5d6e...",
        "remote_id": "5d6e...",
        "number": "1",
        "status": "open",
        "delivery_status": "open",
        "invoice_status": "open",
        "contact_id": "3c4d...",
        "order_date": "2025-03-03",
        "delivery_date": "2025-03-10",
        "currency": "EUR",
        "reference": "PO-2291",
        "description": None,
        "lines": [
            {
                "id": "a1b2...",
                "description": "Consultancy per uur",
                "quantity": "2",
                "unit_price": "95.00",
                "item_id": "7e8f...",
                "tax_rate_id": "2",
                "net_amount": "190.00",
                "tax_amount": "39.90",
            }
        ],
        "net_total": "190.00",
        "tax_total": "39.90",
        "total": "229.90",
        "created_at": "2025-03-03T09:00:00Z",
        "updated_at": "2025-03-03T09:00:00Z",
    },
    Resource.PROJECTS: {
        "id": "8a9b...",
        "remote_id": "8a9b...",
        "code": "WEB-2025",
        "name": "Nieuwe website",
        "type": "time_and_material",
        "contact_id": "3c4d...",
        "manager_id": "6e7f...",
        "start_date": "2025-03-01",
        "end_date": "2025-06-30",
        "budgeted_hours": "120",
        "notes": None,
        "entries_blocked": False,
        "created_at": "2025-03-01T09:00:00Z",
        "updated_at": "2025-03-01T09:00:00Z",
    },
    Resource.TIME_ENTRIES: {
        "id": "1c2d...",
        "remote_id": "1c2d...",
        "project_id": "8a9b...",
        "contact_id": "3c4d...",
        "employee_id": "6e7f...",
        "item_id": "7e8f...",
        "date": "2025-03-04",
        "hours": "2.5",
        "description": "Ontwerp homepage",
        "status": "draft",
        "currency": "EUR",
        "unit_price": "95.0",
        "amount": "237.50",
        "created_at": "2025-03-04T17:00:00Z",
        "updated_at": "2025-03-04T17:00:00Z",
    },
    Resource.COST_ENTRIES: {
        "id": "2d3e...",
        "remote_id": "2d3e...",
        "project_id": "8a9b...",
        "contact_id": "3c4d...",
        "employee_id": "6e7f...",
        "item_id": "9f0a...",
        "date": "2025-03-05",
        "quantity": "120",
        "description": "Kilometers naar klant",
        "status": "draft",
        "currency": "EUR",
        "unit_price": "0.23",
        "amount": "27.60",
        "created_at": "2025-03-05T17:00:00Z",
        "updated_at": "2025-03-05T17:00:00Z",
    },
    Resource.PURCHASE_INVOICES: {
        "id": "c3d4...",
        "remote_id": "c3d4...",
        "number": "INV-88231",
        "booking_number": "25600001",
        "type": "invoice",
        "status": "open",
        "finalized": False,
        "contact_id": "9e8f...",
        "issue_date": "2025-03-03",
        "due_date": "2025-04-02",
        "currency": "EUR",
        "description": "Kantoorartikelen maart",
        "journal_code": "60",
        "corrects_invoice_id": None,
        "lines": [
            {
                "id": "d4e5...",
                "description": "Papier en toner",
                "quantity": None,
                "ledger_account_id": "1a2b...",
                "tax_rate_id": "5",
                "net_amount": "120.00",
                "tax_amount": "25.20",
            }
        ],
        "net_total": "120.00",
        "tax_total": "25.20",
        "total": "145.20",
        "created_at": "2025-03-03T08:00:00Z",
        "updated_at": "2025-03-03T08:00:00Z",
    },
}
_JOURNAL_ENTRY_INPUT = {
    "journal_code": "90",
    "date": "2025-03-31",
    "description": "Afschrijving maart",
    "lines": [
        {"ledger_account_id": "4a5b...", "debit": "250.00"},
        {"ledger_account_id": "6c7d...", "credit": "250.00"},
    ],
}
_SALES_ORDER_INPUT = {
    "contact_id": "3c4d...",
    "order_date": "2025-03-03",
    "delivery_date": "2025-03-10",
    "reference": "PO-2291",
    "lines": [{"item_id": "7e8f...", "quantity": "2"}, {"item_id": "9a0b...", "quantity": "1", "unit_price": "45.00"}],
}
_PROJECT_INPUT = {
    "code": "WEB-2025",
    "name": "Nieuwe website",
    "type": "time_and_material",
    "contact_id": "3c4d...",
    "start_date": "2025-03-01",
    "end_date": "2025-06-30",
    "budgeted_hours": "120",
}
_TIME_ENTRY_INPUT = {
    "project_id": "8a9b...",
    "item_id": "7e8f...",
    "employee_id": "6e7f...",
    "date": "2025-03-04",
    "hours": "2.5",
    "description": "Ontwerp homepage",
}
_COST_ENTRY_INPUT = {
    "project_id": "8a9b...",
    "item_id": "9f0a...",
    "employee_id": "6e7f...",
    "date": "2025-03-05",
    "quantity": "120",
    "unit_price": "0.23",
    "description": "Kilometers naar klant",
}
_JOURNAL_ENTRY_VAT_INPUT = {
    "journal_code": "91",
    "date": "2025-03-31",
    "description": "Omzet kassa maart",
    "lines": [
        {"ledger_account_id": "1a2b...", "debit": "121.00"},
        {"ledger_account_id": "8c9d...", "credit": "100.00", "tax_rate_id": "2"},
    ],
}
_PURCHASE_INVOICE_INPUT = {
    "contact_id": "9e8f...",
    "number": "INV-88231",
    "issue_date": "2025-03-03",
    "due_date": "2025-04-02",
    "description": "Kantoorartikelen maart",
    "lines": [
        {"description": "Papier en toner", "ledger_account_id": "1a2b...", "tax_rate_id": "5", "net_amount": "120.00"}
    ],
}
_ITEM_INPUT = {
    "code": "CONSULT",
    "name": "Consultancy per uur",
    "description": "Advies en begeleiding, per uur",
    "sales_tax_rate_id": "2",
}


_MAPPING_EXAMPLE = {
    "tax_rates": [
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9", "vendor_code": "1"},
        {"code": "zero", "vendor_code": "0"},
    ],
    "default_revenue_ledger_account": "8000",
    "default_sales_journal": "70",
    "default_purchase_journal": "60",
    "default_item": "CONSULT",
    "items_by_code": {"hosting-monthly": "HOSTING"},
}


_EXAMPLE_MAPPING_INVALID = OpenApiExample(
    "Unknown codes",
    value={
        "type": "urn:ledgerbridge:problem:mapping_invalid",
        "title": "Mapping invalid",
        "status": 422,
        "detail": "The mapping names things this company does not have: default_item: no item with code 'NOPE'",
        "code": "mapping_invalid",
        "errors": [{"field": "default_item", "code": "not_found", "message": "no item with code 'NOPE'"}],
    },
    response_only=True,
    status_codes=["422"],
)


_MUTATION_ID_EXAMPLE = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"


# --- write operations ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationText:
    """What the schema says about one write operation of a resource."""

    summary: str
    description: str
    examples: tuple[OpenApiExample, ...]
    problem_examples: tuple[OpenApiExample, ...] = ()


CONTACTS_CREATE = OperationText(
    summary="Create a contact",
    description="Creates the contact at the vendor. Fields the vendor cannot store are listed in `warnings`.",
    examples=(
        OpenApiExample("New customer", value=_CONTACT_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={**_CONTACT_EXAMPLE, "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
CONTACTS_UPDATE = OperationText(
    summary="Update a contact",
    description="Changes only the fields given. `addresses: []` clears the stored address.",
    examples=(
        OpenApiExample("New e-mail address", value={"email": "billing@vandam.example"}, request_only=True),
        OpenApiExample(
            "Updated",
            value={
                **_CONTACT_EXAMPLE,
                "email": "billing@vandam.example",
                "warnings": [],
                "mutation_id": _MUTATION_ID_EXAMPLE,
            },
            response_only=True,
            status_codes=["200"],
        ),
    ),
)
ITEMS_CREATE = OperationText(
    summary="Create an item",
    description=(
        "Creates the item (a product or service) at the vendor; `code` and `name` are required. Fields the "
        "vendor cannot store are listed in `warnings` (Exact: `unit_price`, its standard sales price is "
        "read-only in its API). A code the company already uses is refused by the vendor (422)."
    ),
    examples=(
        OpenApiExample("New service item", value=_ITEM_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={
                **RECORD_EXAMPLES[Resource.ITEMS],
                "description": _ITEM_INPUT["description"],
                "unit_price": None,
                "revenue_ledger_account_id": None,
                "warnings": [],
                "mutation_id": _MUTATION_ID_EXAMPLE,
            },
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
PURCHASE_INVOICES_CREATE = OperationText(
    summary="Book a purchase invoice (bill)",
    description=(
        "Books the supplier's invoice at the vendor (Exact: a purchase entry in the journal given, else the "
        "mapping's `default_purchase_journal`; Xero: an approved bill, ACCPAY, which has no journal and no "
        "description, both answered with a warning). With `type: credit_note` it books the supplier's credit note "
        "(Exact: a purchase entry with negative amounts, its Type 31; Xero: an approved ACCPAYCREDIT credit note); "
        "amounts are given positive either way. `contact_id` must be a contact of the connection and every "
        "line's `ledger_account_id` a ledger account of it: an unknown one is 422 `invalid_input` naming the field, "
        "and nothing is booked. Without `tax_rate_id` the vendor applies the ledger account's default tax code; "
        "without `tax_amount` it computes the tax."
    ),
    examples=(
        OpenApiExample("One line on a cost account", value=_PURCHASE_INVOICE_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={**RECORD_EXAMPLES[Resource.PURCHASE_INVOICES], "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
SALES_ORDERS_CREATE = OperationText(
    summary="Create a sales order",
    description=(
        "Creates an open order for the customer `contact_id` (Exact: salesorder/SalesOrders; OrderedBy, and the "
        "customer invoiced and delivered to, cannot change afterwards). Each line names an item; price, tax rate and "
        "text default to the item's at the vendor. An unknown contact or item is 422 `invalid_input` naming the "
        "field and nothing is created. Vendors without sales orders (Xero) answer 405."
    ),
    examples=(
        OpenApiExample("Two items", value=_SALES_ORDER_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={**RECORD_EXAMPLES[Resource.SALES_ORDERS], "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
PROJECTS_CREATE = OperationText(
    summary="Create a project",
    description=(
        "Creates a project that hours are booked on (Exact: project/Projects, which requires Code, Description and "
        "Type). A code the company already uses, or an unknown `contact_id` or `manager_id`, is 422 `invalid_input` "
        "naming the field and nothing is created. Vendors without projects in their accounting API (Xero) answer 405."
    ),
    examples=(
        OpenApiExample("Time and material", value=_PROJECT_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={**RECORD_EXAMPLES[Resource.PROJECTS], "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
TIME_ENTRIES_CREATE = OperationText(
    summary="Book hours on a project",
    description=(
        "Books `hours` (more than 0, at most 24) of the hour type `item_id` on the project `project_id` (Exact: "
        "project/TimeTransactions; the item prices the hours, `amount` = hours x `unit_price`). An unknown project, "
        "item or employee, or a project blocked for entries, is 422 `invalid_input` naming the field and nothing is "
        "booked. Vendors without projects in their accounting API (Xero) answer 405."
    ),
    examples=(
        OpenApiExample("Two and a half hours", value=_TIME_ENTRY_INPUT, request_only=True),
        OpenApiExample(
            "Booked",
            value={**RECORD_EXAMPLES[Resource.TIME_ENTRIES], "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
COST_ENTRIES_CREATE = OperationText(
    summary="Book a cost on a project",
    description=(
        "Books `quantity` (more than 0) of the cost item `item_id` on the project `project_id` at `unit_price` "
        "(default: the vendor's price of the item; Exact: project/CostTransactions, `amount` = quantity x "
        "`unit_price`). An unknown project, item or employee, or a project blocked for entries, is 422 "
        "`invalid_input` naming the field and nothing is booked. Vendors without projects in their accounting API "
        "(Xero) answer 405."
    ),
    examples=(
        OpenApiExample("Mileage", value=_COST_ENTRY_INPUT, request_only=True),
        OpenApiExample(
            "Booked",
            value={**RECORD_EXAMPLES[Resource.COST_ENTRIES], "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)


def _delete_text(noun: str, plural: str, example_id: str) -> OperationText:
    return OperationText(
        summary=f"Delete a {noun}",
        description=(
            f"Deletes the {noun} at the vendor (Exact: DELETE on its transaction). The answer names the record and "
            "the stored write; reads answer 404 from then on. An id the vendor does not have is 404 (also when it "
            "was deleted before: repeat a delete with the same `Idempotency-Key` to get its first answer again). An "
            "entry the vendor refuses to delete (for instance once it is processed) is its 422. If the answer to a "
            "delete is lost, retrying with the same key reads the entry first: gone counts as deleted. Vendors "
            f"without {plural} in their accounting API (Xero) answer 405."
        ),
        examples=(
            OpenApiExample(
                "Deleted",
                value={"id": example_id, "deleted": True, "mutation_id": _MUTATION_ID_EXAMPLE},
                response_only=True,
                status_codes=["200"],
            ),
        ),
        problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
    )


def _entry_update_text(noun: str, plural: str, changes: str, example: dict[str, Any]) -> OperationText:
    return OperationText(
        summary=f"Change a {noun}",
        description=(
            f"Changes {changes}, `date`, `description` or `status` (back to `draft`, or `submitted`) of a booked "
            f"{noun}; only the fields given change. The project, item and employee are fixed once booked: naming "
            "one is 422 `validation_error` naming it (book a new entry and delete this one instead). An entry the "
            f"vendor no longer lets change (for instance once it is processed) is its 422. Vendors without {plural} "
            "in their accounting API (Xero) answer 405."
        ),
        examples=(
            OpenApiExample(
                "Correct the hours" if noun == "time entry" else "Correct the quantity",
                value=example,
                request_only=True,
            ),
        ),
        problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
    )


TIME_ENTRIES_UPDATE = _entry_update_text(
    "time entry", "time entries", "`hours`", {"hours": "3.25", "description": "Ontwerp homepage en review"}
)
COST_ENTRIES_UPDATE = _entry_update_text(
    "cost entry", "cost entries", "`quantity`, `unit_price`", {"quantity": "4", "unit_price": "12.50"}
)
TIME_ENTRIES_DELETE = _delete_text("time entry", "time entries", str(RECORD_EXAMPLES[Resource.TIME_ENTRIES]["id"]))
COST_ENTRIES_DELETE = _delete_text("cost entry", "cost entries", str(RECORD_EXAMPLES[Resource.COST_ENTRIES]["id"]))
JOURNAL_ENTRIES_CREATE = OperationText(
    summary="Book a general journal entry",
    description=(
        "Books balanced debit and credit lines on ledger accounts in the general journal `journal_code`. Each line "
        "gives exactly one of `debit` and `credit`; when debits and credits differ the answer is 422 "
        "`invalid_input` naming `lines` and nothing is sent. An unknown ledger account is 422 naming the line's "
        "`ledger_account_id`. A line with `tax_rate_id` books tax on its own side (in a journal that allows VAT: "
        "Exact's journals with VAT enabled): `tax_amount` when given, else the line's amount at the rate's percent "
        "from the ledger mapping, half up to the cent; the balance includes it. A rate the mapping gives no percent "
        "for needs `tax_amount` (else 422 naming the line's `tax_rate_id`), and `tax_amount` without `tax_rate_id` "
        "is 422 naming it. Xero books a posted manual journal (no journals: `journal_code` is answered with a "
        "warning): `tax_rate_id` is the line's TaxType, the tax is the organisation's rate, and a given "
        "`tax_amount` is 422 naming it (Xero calculates the tax)."
    ),
    examples=(
        OpenApiExample("Two balanced lines", value=_JOURNAL_ENTRY_INPUT, request_only=True),
        OpenApiExample("With VAT on the revenue line", value=_JOURNAL_ENTRY_VAT_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={**RECORD_EXAMPLES[Resource.JOURNAL_ENTRIES], "warnings": [], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_VENDOR_REFUSED,),
)
INVOICES_CREATE = OperationText(
    summary="Create a sales invoice or credit note",
    description=(
        "Lines are translated through the connection's mapping (tax codes or percentages to the vendor's tax "
        "codes, default item, revenue account and journal). If the mapping cannot translate the invoice the "
        "answer is 422 `mapping_missing` and nothing is sent to the vendor. Fields the vendor cannot store are "
        "listed in `warnings`. The invoice is created unprocessed; finalize it to book it."
    ),
    examples=(
        OpenApiExample("Three lines, three tax rates", value=_INVOICE_INPUT, request_only=True),
        OpenApiExample(
            "Created",
            value={**_INVOICE_EXAMPLE, "warnings": [_WARNING_EXAMPLE], "mutation_id": _MUTATION_ID_EXAMPLE},
            response_only=True,
            status_codes=["201"],
        ),
    ),
    problem_examples=(_EXAMPLE_MAPPING_MISSING, _EXAMPLE_VENDOR_REFUSED),
)
INVOICES_UPDATE = OperationText(
    summary="Update an invoice",
    description=(
        "Changes only the fields given. Vendors fix some fields once an invoice exists (Exact: customer, "
        "journal, type, currency and lines; everything once it is finalized): changing those is refused with "
        "422 `invalid_input` naming the field, never silently ignored."
    ),
    examples=(
        OpenApiExample(
            "New due date and reference",
            value={"due_date": "2025-04-15", "reference": "ORDER-2025-0042-B"},
            request_only=True,
        ),
        OpenApiExample(
            "Updated",
            value={
                **_INVOICE_EXAMPLE,
                "due_date": "2025-04-15",
                "reference": "ORDER-2025-0042-B",
                "warnings": [],
                "mutation_id": _MUTATION_ID_EXAMPLE,
            },
            response_only=True,
            status_codes=["200"],
        ),
    ),
)
INVOICES_FINALIZE = OperationText(
    summary="Finalize (process) an invoice",
    description=(
        "Has the vendor process the invoice: it is booked in the sales journal and can no longer be changed "
        "(Exact: PrintedSalesInvoices, status Processed). The answer is the invoice with `finalized: true`."
    ),
    examples=(
        OpenApiExample(
            "Finalized",
            value={
                **_INVOICE_EXAMPLE,
                "number": "25700001",
                "issue_date": "2025-03-01",
                "finalized": True,
                "warnings": [],
                "mutation_id": _MUTATION_ID_EXAMPLE,
            },
            response_only=True,
            status_codes=["200"],
        ),
    ),
)


# --- record operations, generated from the specs ----------------------------------------------------------------


def _operation_id(spec: ResourceSpec, action: str) -> str:
    return f"{spec.resource.value.replace('-', '_')}_{action}"


def list_schema(spec: ResourceSpec) -> Any:
    return extend_schema(
        operation_id=_operation_id(spec, "list"),
        summary=f"List {spec.what}",
        description=(
            f"The connection's {spec.what} in a stable order, from the gateway's synced copy once the first sync "
            "of the resource completed (`source`, `synced_at` say so), else (or with `mode=live`) from the vendor. "
            "Follow `next` until it is null; `updated_after` narrows the list to records changed since then."
        ),
        parameters=[
            *LIST_PARAMETERS,
            *(
                OpenApiParameter(name, {"type": "string", "minLength": 1}, description=description)
                for name, description in spec.filters.items()
            ),
        ],
        responses={
            200: page_serializer(spec.record_serializer, f"{spec.name}PageSerializer"),
            **_problems(*LIST_PROBLEMS),
        },
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "results": [spec.example],
                    "next": f"https://gateway.example.com/api/v1/connections/0b5d.../{spec.resource.value}"
                    "?cursor=eyJr...",
                    "source": "store",
                    "synced_at": "2025-03-01T10:00:00Z",
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=[spec.resource.value],
    )


def retrieve_schema(spec: ResourceSpec) -> Any:
    return extend_schema(
        operation_id=_operation_id(spec, "retrieve"),
        summary=f"Retrieve one of the {spec.what}",
        parameters=[CONNECTION_ID, RECORD_ID, INCLUDE, MODE],
        responses={200: spec.record_serializer, **_problems(*READ_PROBLEMS)},
        examples=[OpenApiExample(spec.name, value=spec.example, response_only=True, status_codes=["200"])],
        tags=[spec.resource.value],
    )


def write_schema(spec: ResourceSpec, action: str, write: WriteSpec) -> Any:
    """`action`: create (201, no record id), partial_update or finalize (200, on one record)."""
    on_record = action != "create"
    return extend_schema(
        operation_id=_operation_id(spec, action),
        summary=write.text.summary,
        description=write.text.description,
        parameters=[CONNECTION_ID, *([RECORD_ID] if on_record else []), IDEMPOTENCY_KEY_PARAMETER, INCLUDE, DRY_RUN],
        request=write.serializer,
        responses={
            **(
                {200: with_dry_run(f"{spec.name}WriteOrDryRunResponse", spec.write_response_serializer)}
                if on_record
                else {201: spec.write_response_serializer, 200: DryRunResponseSerializer}
            ),
            **_problems(*WRITE_PROBLEMS, examples=list(write.text.problem_examples)),
        },
        examples=list(write.text.examples),
        tags=[spec.resource.value],
    )


def delete_schema(spec: ResourceSpec, text: OperationText) -> Any:
    """DELETE on one record: 200 with `{id, deleted, mutation_id}` (or a dry run's answer), the write problems."""
    return extend_schema(
        operation_id=_operation_id(spec, "destroy"),
        summary=text.summary,
        description=text.description,
        parameters=[CONNECTION_ID, RECORD_ID, IDEMPOTENCY_KEY_PARAMETER, DRY_RUN],
        request=None,
        responses={
            200: with_dry_run(f"{spec.name}DeleteOrDryRunResponse", DeleteResponseSerializer),
            **_problems(*WRITE_PROBLEMS, examples=list(text.problem_examples)),
        },
        examples=list(text.examples),
        tags=[spec.resource.value],
    )


def sales_order_invoice_schema(invoices: ResourceSpec, request: Any) -> Any:
    """POST .../sales-orders/{record_id}/invoice: the answer is the invoice made (a write of `invoices`)."""
    return extend_schema(
        operation_id="sales_orders_invoice",
        summary="Turn a sales order into a sales invoice",
        description=(
            "Invoices what the order still has to invoice, by quantity ordered, as one open sales invoice in "
            "`journal_code` (default: the mapping's sales journal); the answer is that invoice (Exact: "
            "salesinvoice/InvoiceSalesOrders, the invoice's lines name the order). An order with nothing left to "
            "invoice is the vendor's refusal (422). Vendors without sales orders (Xero) answer 405."
        ),
        parameters=[CONNECTION_ID, RECORD_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE, DRY_RUN],
        request=request,
        responses={
            201: invoices.write_response_serializer,
            200: DryRunResponseSerializer,
            **_problems(*WRITE_PROBLEMS),
        },
        tags=[Resource.SALES_ORDERS.value],
    )


# --- attachments, generated from the specs that take them ----------------------------------------------------------

ATTACHMENT_ID = OpenApiParameter(
    "attachment_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The attachment's `id`."
)
_ATTACHMENT_EXAMPLE = {
    "id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
    "remote_id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
    "record_id": "6f5e4d3c-2b1a-4c9d-8e7f-1a2b3c4d5e6f",
    "file_name": "INV-88231.pdf",
    "content_type": "application/pdf",
    "size": 48213,
    "created_at": None,
    "updated_at": None,
}
_ATTACHMENT_PAGE = page_serializer(AttachmentSerializer, "AttachmentPageSerializer", freshness=False)
_ATTACHMENT_RULES_TEXT = (
    "The vendor's rules are checked before any call, naming the field `file` in a 422 `invalid_input` problem: the "
    "file must not be empty, must be a PDF, JPEG, PNG, GIF, TIFF or XML file by its content, with a file name whose "
    "extension matches it, and may be at most as large as the vendor takes (Exact: 10 MB per file in the "
    "Netherlands and Belgium; elsewhere its 9.5 MB message limit caps the base64-encoded file at about 7 MB; Xero: "
    "10 MB, no XML). Xero keeps at most 10 files per record and would replace a file of the same name: an 11th file "
    "or a name the record already has is refused the same way before the upload. "
    "A vendor that takes no files on this resource answers 405."
)


def attachment_list_schema(spec: ResourceSpec) -> Any:
    return extend_schema(
        operation_id=_operation_id(spec, "attachments_list"),
        summary=f"List the files attached to one of the {spec.what}",
        description="Read from the vendor (Exact: the documents linked to the entry and their attachments; Xero: the "
        "attachments of the invoice, bill or credit note).",
        parameters=[CONNECTION_ID, RECORD_ID],
        responses={
            200: _ATTACHMENT_PAGE,
            **_problems(*READ_PROBLEMS),
        },
        examples=[
            OpenApiExample(
                "Attachments",
                value={"results": [_ATTACHMENT_EXAMPLE], "next": None},
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=[spec.resource.value],
    )


def attachment_create_schema(spec: ResourceSpec) -> Any:
    return extend_schema(
        operation_id=_operation_id(spec, "attachments_create"),
        summary=f"Attach a file to one of the {spec.what}",
        description="A `multipart/form-data` upload with the file in the part `file`. Exact: a document of the "
        "entry's type (purchase invoice or sales invoice) linked to the entry, with the file as its attachment. "
        "Xero: an attachment of the invoice, bill or credit note. " + _ATTACHMENT_RULES_TEXT + " The upload is a "
        "recorded write (a mutation with operation `attach` on this record; its file kept until it lands): one that "
        "fails or whose answer is lost is listed under /mutations with the file's name, type, size and SHA-256, its "
        "problem names the `mutation_id`, and a retry (POST /mutations/{id}/retry, or the same request with the same "
        "Idempotency-Key) first looks for the file on the record, then sends it once.",
        parameters=[CONNECTION_ID, RECORD_ID, IDEMPOTENCY_KEY_PARAMETER],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachedSerializer, **_problems(*WRITE_PROBLEMS)},
        examples=[
            OpenApiExample(
                "Attached",
                value={**_ATTACHMENT_EXAMPLE, "mutation_id": "5b1f0c2e-7a4d-4e8b-9c6f-2d3e4f5a6b7c"},
                response_only=True,
                status_codes=["201"],
            )
        ],
        tags=[spec.resource.value],
    )


def attachment_content_schema(spec: ResourceSpec) -> Any:
    return extend_schema(
        operation_id=_operation_id(spec, "attachments_content"),
        summary=f"Download a file attached to one of the {spec.what}",
        description="The file's bytes, read from the vendor, with its media type and its name in "
        "`Content-Disposition`.",
        parameters=[CONNECTION_ID, RECORD_ID, ATTACHMENT_ID],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **_problems(*READ_PROBLEMS)},
        tags=[spec.resource.value],
    )


# --- mapping and passthrough --------------------------------------------------------------------------------------

COMPANY_RETRIEVE = extend_schema(
    operation_id="company_retrieve",
    summary="The connection's company",
    description=(
        "Name, country, base currency, VAT and chamber of commerce numbers and fiscal year start of the vendor company "
        "the connection books in (Exact: system/Divisions for the connection's division, its financial periods for "
        "the fiscal year; Xero: the Organisation, the fiscal year start being the day after its last year end). "
        "Served from the gateway's copy once the first sync of `company` completed (the sync "
        "engine refreshes it on its schedule; headers `X-Data-Source: store` and `X-Synced-At`), else read from the "
        "vendor (`X-Data-Source: live`), as with `?mode=live`. "
        "`?include=remote_data` adds the vendor's object. A vendor without such information answers 405."
    ),
    parameters=[CONNECTION_ID, INCLUDE, MODE],
    responses={200: CompanyInfoSerializer, **_problems(404, 405)},
    examples=[
        OpenApiExample(
            "Exact administration",
            value={
                "id": "101",
                "remote_id": "101",
                "name": "Bakkerij Demo B.V.",
                "country": "NL",
                "currency": "EUR",
                "vat_number": "NL000000101B01",
                "chamber_of_commerce_number": None,
                "fiscal_year_start": "2025-01-01",
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            },
            response_only=True,
        )
    ],
    tags=["connections"],
)
MAPPING_RETRIEVE = extend_schema(
    operation_id="mapping_retrieve",
    summary="The connection's ledger mapping",
    description="Empty defaults when none was saved.",
    parameters=[CONNECTION_ID],
    responses={200: LedgerMappingOutputSerializer, **_problems(404)},
    examples=[
        OpenApiExample("Mapping", value={**_MAPPING_EXAMPLE, "updated_at": "2025-03-01T09:30:00Z"}, response_only=True)
    ],
    tags=["mapping"],
)
MAPPING_UPDATE = extend_schema(
    operation_id="mapping_update",
    summary="Replace the connection's ledger mapping",
    description=(
        "Every code is checked in the vendor company first: a code that does not exist there is refused with "
        "422 `mapping_invalid`, naming the field and the reason, and nothing is saved."
    ),
    parameters=[CONNECTION_ID, IDEMPOTENCY_KEY_PARAMETER],
    request=LedgerMappingSerializer,
    responses={
        200: LedgerMappingOutputSerializer,
        **_problems(404, 409, 422, 429, 503, examples=[_EXAMPLE_MAPPING_INVALID]),
    },
    examples=[
        OpenApiExample("Dutch defaults", value=_MAPPING_EXAMPLE, request_only=True),
        OpenApiExample("Saved", value={**_MAPPING_EXAMPLE, "updated_at": "2025-03-01T09:30:00Z"}, response_only=True),
    ],
    tags=["mapping"],
)
PASSTHROUGH_CREATE = extend_schema(
    operation_id="passthrough_create",
    summary="Call the vendor's API directly",
    description=(
        "For anything the unified model does not cover. `path` is relative to the connection's company (Exact: "
        "after `/api/v1/{division}/`); the gateway adds authentication, region and company and applies the "
        "vendor's rate limits. Paths that would leave the company (other divisions, `current/Me`, OAuth) are "
        "refused with 403 `passthrough_denied`. The vendor's status and body come back as they are; writes "
        "(POST, PUT, DELETE) are recorded as mutations."
    ),
    parameters=[CONNECTION_ID, IDEMPOTENCY_KEY_PARAMETER, DRY_RUN],
    request=PassthroughRequestSerializer,
    responses={
        200: with_dry_run("PassthroughOrDryRunResponse", PassthroughResponseSerializer),
        (403, "application/problem+json"): OpenApiResponse(
            response=_PROBLEM_REF, description="`passthrough_denied`: the path would escape the company."
        ),
        **_problems(404, 409, 422, 429, 502, 503),
    },
    examples=[
        OpenApiExample(
            "Read GL account classifications",
            value={
                "method": "GET",
                "path": "financial/GLAccountClassificationMappings",
                "query": {"$select": "ID,Code,Description", "$top": "10"},
            },
            request_only=True,
        ),
        OpenApiExample(
            "Vendor answer",
            value={"status": 200, "body": {"d": {"results": [{"ID": "…", "Code": "1", "Description": "Activa"}]}}},
            response_only=True,
            status_codes=["200"],
        ),
    ],
    tags=["passthrough"],
)


# --- reconciliation -----------------------------------------------------------------------------------------------

_RECONCILIATION_ID = OpenApiParameter(
    "reconciliation_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="A reconciliation of this connection."
)
RECONCILIATIONS_LIST = extend_schema(
    operation_id="reconciliations_list",
    summary="The connection's reconciliation reports, newest first",
    parameters=[CONNECTION_ID],
    responses={
        200: page_serializer(ReconciliationSerializer, "ReconciliationPageSerializer", freshness=False),
        **_problems(404),
    },
    tags=["reconciliation"],
)
RECONCILIATIONS_CREATE = extend_schema(
    operation_id="reconciliations_create",
    summary="Reconcile a period: our writes against the ledger",
    description=(
        "Compares every record written through the API in the period (its last successful write; each vendor "
        "request is in the audit trail) with what the ledger holds now: `matched` (exists, totals, lines and VAT "
        "equal), `changed` (field by field: what we left, what the ledger has), `missing` (we wrote it, it is "
        "gone), `orphan` (an invoice of the period carrying your reference format that no write of ours made). "
        "Payment progress (`status`, `finalized`) is not a difference. The report is stored: list, retrieve, CSV."
    ),
    parameters=[CONNECTION_ID],
    request=ReconciliationCreateSerializer,
    responses={201: ReconciliationSerializer, **_problems(404, 409, 429, 502, 503)},
    examples=[
        OpenApiExample("March", value={"period_start": "2025-03-01", "period_end": "2025-03-31"}, request_only=True)
    ],
    tags=["reconciliation"],
)
RECONCILIATIONS_RETRIEVE = extend_schema(
    operation_id="reconciliations_retrieve",
    summary="One reconciliation report",
    parameters=[CONNECTION_ID, _RECONCILIATION_ID],
    responses={200: ReconciliationSerializer, **_problems(404)},
    tags=["reconciliation"],
)
RECONCILIATIONS_CSV = extend_schema(
    operation_id="reconciliations_csv",
    summary="One reconciliation report as CSV (a row per difference)",
    parameters=[CONNECTION_ID, _RECONCILIATION_ID],
    responses={(200, "text/csv"): OpenApiTypes.STR, **_problems(404)},
    tags=["reconciliation"],
)


# --- recorded writes (mutations) -----------------------------------------------------------------------------------

_MUTATION_ID = OpenApiParameter(
    "mutation_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The `mutation_id`."
)
_MUTATION_FAILED = {
    "id": _MUTATION_ID_EXAMPLE,
    "connection_id": "9a8b7c6d-2222-4e3f-8a9b-0c1d2e3f4a5b",
    "resource": "invoices",
    "operation": "create",
    "target_id": "",
    "status": "failed",
    "attempts": 1,
    "remote_id": "",
    "error_code": "vendor_unavailable",
    "idempotency_key": "order-4711",
    "request_id": "5f0c6d1e2b7a4c4e9d3f1a2b3c4d5e6f",
    "api_key_prefix": "lb_Xq7H2mPzK9aB",
    "request": {"contact_id": "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "reference": "ORDER-4711", "lines": []},
    "outcome": {
        "code": "vendor_unavailable",
        "message": "Exact answered HTTP 503.",
        "vendor": {"status": 503, "messages": ["Service Unavailable"]},
    },
    "reconcile_after": None,
    "attempt_log": [
        {
            "number": 1,
            "started_at": "2025-03-01T09:40:11Z",
            "finished_at": "2025-03-01T09:40:12Z",
            "vendor_status": 503,
            "error_code": "vendor_unavailable",
            "error_message": "Exact answered HTTP 503.",
        }
    ],
    "created_at": "2025-03-01T09:40:11Z",
    "updated_at": "2025-03-01T09:40:12Z",
    "completed_at": "2025-03-01T09:40:12Z",
}
_MUTATION_SUCCEEDED = {
    **_MUTATION_FAILED,
    "status": "succeeded",
    "attempts": 2,
    "remote_id": "6c3b0b5e-8f6a-4b4e-9d4c-1f2e3d4c5b6a",
    "error_code": "",
    "outcome": {"id": "6c3b0b5e-8f6a-4b4e-9d4c-1f2e3d4c5b6a", "reference": "ORDER-4711", "warnings": []},
    "attempt_log": [
        *_MUTATION_FAILED["attempt_log"],
        {
            "number": 2,
            "started_at": "2025-03-01T10:02:00Z",
            "finished_at": "2025-03-01T10:02:01Z",
            "vendor_status": 201,
            "error_code": "",
            "error_message": "",
        },
    ],
    "updated_at": "2025-03-01T10:02:01Z",
    "completed_at": "2025-03-01T10:02:01Z",
}
_EXAMPLE_NOT_RETRYABLE = OpenApiExample(
    "Already succeeded",
    value={
        "type": "urn:ledgerbridge:problem:mutation_not_retryable",
        "title": "Write cannot be retried",
        "status": 409,
        "detail": "This write already succeeded.",
        "code": "mutation_not_retryable",
        "request_id": "5f0c6d1e2b7a4c4e9d3f1a2b3c4d5e6f",
        "mutation_id": _MUTATION_ID_EXAMPLE,
        "mutation_status": "succeeded",
    },
    response_only=True,
    status_codes=["409"],
)

MUTATIONS_LIST = extend_schema(
    operation_id="mutations_list",
    summary="The workspace's recorded writes, newest first",
    description=(
        "Every write sent through the API (create, update, finalize, passthrough) is recorded before it is sent. "
        "Filter by `status` (`failed` and `in_doubt` are the ones to look at) and `connection_id`. Each carries "
        "its attempts with the vendor's answers."
    ),
    parameters=[MutationListFilterSerializer],
    responses={200: page_serializer(MutationSerializer, "MutationPageSerializer", freshness=False)},
    examples=[OpenApiExample("Failed writes", value={"results": [_MUTATION_FAILED], "next": None}, response_only=True)],
    tags=["mutations"],
)
MUTATIONS_RETRIEVE = extend_schema(
    operation_id="mutations_retrieve",
    summary="One recorded write with its attempts",
    parameters=[_MUTATION_ID],
    responses={200: MutationSerializer, **_problems(404)},
    examples=[OpenApiExample("Failed", value=_MUTATION_FAILED, response_only=True)],
    tags=["mutations"],
)
MUTATIONS_RETRY = extend_schema(
    operation_id="mutations_retry",
    summary="Send a failed or in-doubt write again (never twice)",
    description=(
        "Sends the recorded request again and answers with the mutation as it ended. An `in_doubt` write (or one "
        "whose sender died) is first looked up at the vendor: when the vendor has it, nothing is sent and the "
        "mutation succeeds with that record. Refused with 409: `mutation_not_retryable` (it succeeded; also a "
        "passthrough POST whose answer was lost), `mutation_in_flight` (its sender is still at work), "
        "`mutation_in_doubt` (the vendor may still apply it: retry after `Retry-After`). When the vendor refuses "
        "again the answer is that problem, naming `mutation_id` and `mutation_status`."
    ),
    parameters=[_MUTATION_ID],
    request=None,
    responses={200: MutationSerializer, **_problems(*WRITE_PROBLEMS, examples=[_EXAMPLE_NOT_RETRYABLE])},
    examples=[OpenApiExample("Sent on retry", value=_MUTATION_SUCCEEDED, response_only=True, status_codes=["200"])],
    tags=["mutations"],
)
