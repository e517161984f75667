"""API views of the unified data model under /api/v1/connections/{connection_id}/: records, mapping, passthrough.

Thin: parse the request, call a selector or service, serialize. Connections are loaded through the workspace-
scoped selector (404 for another workspace's); typed connector errors become problem details (unified_models.errors).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from connectors.base.data import Resource
from gateway.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from gateway.api.pagination import parse_page_size
from gateway.api.problems import Problem
from gateway.api.views import WorkspaceAPIView
from tenants.models import Connection
from unified_models import selectors, services
from unified_models.errors import TYPED_ERRORS, as_problems, problem_for
from unified_models.models import MutationStatus
from unified_models.serializers import (
    ContactCreateSerializer,
    ContactSerializer,
    ContactUpdateSerializer,
    ContactWriteResponseSerializer,
    InvoiceCreateSerializer,
    InvoiceSerializer,
    InvoiceUpdateSerializer,
    InvoiceWriteResponseSerializer,
    ItemCreateSerializer,
    ItemSerializer,
    ItemWriteResponseSerializer,
    JournalSerializer,
    LedgerAccountSerializer,
    LedgerMappingOutputSerializer,
    LedgerMappingSerializer,
    PassthroughRequestSerializer,
    PassthroughResponseSerializer,
    PaymentSerializer,
    TaxRateSerializer,
    mapping_data,
    page_serializer,
    record_data,
)

DEFAULT_PAGE_SIZE = 100

# --- request parsing ------------------------------------------------------------------------------------------


def _bad_query(field: str, message: str) -> Problem:
    return Problem(
        status_code=400,
        code="validation_error",
        title="Validation failed",
        detail=f"Invalid input in: {field}.",
        errors=[{"field": field, "code": "invalid", "message": message}],
    )


def validated(serializer_class: type[Any], data: Any, **kwargs: Any) -> Any:
    """A bound, valid serializer, or a 400 naming every bad field by its dotted path (`lines.0.quantity`)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer


def _include_remote_data(request: Request) -> bool:
    values = request.query_params.getlist("include")
    if not values:
        return False
    if values != ["remote_data"]:
        raise _bad_query("include", "Only `remote_data` can be included (once).")
    return True


def _filters(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The list filters given; an empty one (`?contact_id=`) is refused, not read as "no filter"."""
    given = {name: request.query_params[name] for name in names if name in request.query_params}
    for name, value in given.items():
        if value == "":
            raise _bad_query(name, "Must not be empty; leave the parameter out.")
    return given


def _updated_after(request: Request) -> datetime | None:
    raw = request.query_params.get("updated_after")
    if raw is None:
        return None
    if raw == "":
        raise _bad_query("updated_after", "Must not be empty; leave the parameter out.")
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise _bad_query("updated_after", "An ISO-8601 date-time such as 2025-03-01T00:00:00Z.")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- schema helpers -----------------------------------------------------------------------------------------------

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
]

# Exact-match list filters of the unified model; a connector that cannot apply one answers 422 naming it.
FILTERS: dict[Resource, tuple[str, ...]] = {Resource.INVOICES: ("contact_id",), Resource.PAYMENTS: ("contact_id",)}

_PROBLEM_DESCRIPTIONS = {
    404: "`not_found`: no such connection in your workspace, or no such record at the vendor.",
    405: "`operation_not_supported`: the vendor cannot do this for this resource.",
    409: "`connection_needs_reauth` / `connection_disabled` (with `reason`): reconnect the connection first; "
    "`mutation_in_flight`, `idempotency_key_in_flight`: the same write is being sent; `mutation_in_doubt`: the "
    "vendor's answer was lost and the write is looked up once it settles (`Retry-After`); "
    "`mutation_not_retryable`.",
    422: "`mapping_missing` (field `mapping.<field>`, nothing sent), `vendor_validation_failed` (the vendor's "
    "messages in `vendor.messages`), `invalid_input` (also a list filter the vendor cannot apply), "
    "`idempotency_key_reused`.",
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


READ_PROBLEMS = (404, 405, 409, 429, 502, 503)
LIST_PROBLEMS = (*READ_PROBLEMS, 422)
WRITE_PROBLEMS = (404, 405, 409, 422, 429, 502, 503)


# --- base views ---------------------------------------------------------------------------------------------------


class ConnectionAPIView(WorkspaceAPIView):
    """A view under /connections/{connection_id}/: the connection is the caller's, or 404."""

    pagination_class = None
    serializer_class = None

    def get_connection(self, connection_id: str) -> Connection:
        return selectors.connection_get(workspace=self.workspace, connection_id=connection_id)


class RecordListView(ConnectionAPIView):
    resource: Resource

    def get(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        page_size = parse_page_size(request, DEFAULT_PAGE_SIZE)
        updated_after = _updated_after(request)
        include_remote_data = _include_remote_data(request)
        filters = _filters(request, FILTERS.get(self.resource, ()))
        with as_problems():
            page = selectors.record_list(
                connection=connection,
                resource=self.resource,
                page_size=page_size,
                cursor=request.query_params.get("cursor") or None,
                updated_after=updated_after,
                include_remote_data=include_remote_data,
                filters=filters,
            )
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        results = [
            record_data(self.resource, record, include_remote_data=include_remote_data) for record in page.records
        ]
        return Response({"results": results, "next": next_url})


class RecordDetailView(ConnectionAPIView):
    resource: Resource

    def get(self, request: Request, connection_id: str, record_id: str) -> Response:
        connection = self.get_connection(connection_id)
        include_remote_data = _include_remote_data(request)
        with as_problems():
            record = selectors.record_retrieve(
                connection=connection,
                resource=self.resource,
                record_id=record_id,
                include_remote_data=include_remote_data,
            )
        return Response(record_data(self.resource, record, include_remote_data=include_remote_data))


def _write(
    view: ConnectionAPIView,
    request: Request,
    *,
    connection: Connection,
    resource: str,
    operation: str,
    payload: dict[str, Any],
    target_id: str = "",
    success_status: int = status.HTTP_200_OK,
) -> Response:
    """Record the mutation, send it, answer with the record (or the vendor's passthrough answer)."""
    include_remote_data = _include_remote_data(request) if resource != services.PASSTHROUGH else False
    with as_problems():
        mutation = services.mutation_create(
            workspace=view.workspace,
            connection=connection,
            resource=resource,
            operation=operation,
            request=payload,
            target_id=target_id,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
        )
    try:
        outcome = services.mutation_execute(mutation=mutation)
    except TYPED_ERRORS as exc:
        raise _write_problem(problem_for(exc), mutation) from exc
    if outcome.passthrough is not None:
        body: dict[str, Any] = {"status": outcome.passthrough.status, "body": outcome.passthrough.body}
    elif outcome.record is None:  # already succeeded earlier under this Idempotency-Key: its stored outcome
        body = dict(outcome.mutation.outcome or {})
    else:
        body = {
            **record_data(Resource(resource), outcome.record, include_remote_data=include_remote_data),
            "warnings": [warning.as_dict() for warning in outcome.warnings],
        }
    body["mutation_id"] = str(outcome.mutation.pk)
    return Response(body, status=success_status)


def _write_problem(problem: Problem, mutation: Any) -> Problem:
    """A failed write's problem, naming the mutation and its state; an in-doubt one says when to retry."""
    problem.extra.setdefault("mutation_id", str(mutation.pk))
    problem.extra.setdefault("mutation_status", str(mutation.status))
    if mutation.status == MutationStatus.IN_DOUBT and mutation.reconcile_after is not None:
        wait = max(1, int((mutation.reconcile_after - timezone.now()).total_seconds() + 0.999))
        problem.headers["Retry-After"] = str(max(wait, int(problem.headers.get("Retry-After", "0") or 0)))
    return problem


class RecordCreateView(RecordListView):
    input_serializer: type[Any]

    @idempotent
    def post(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        serializer = validated(self.input_serializer, request.data)
        return _write(
            self,
            request,
            connection=connection,
            resource=self.resource.value,
            operation="create",
            payload=dict(serializer.data),
            success_status=status.HTTP_201_CREATED,
        )


class RecordUpdateView(RecordDetailView):
    update_serializer: type[Any]

    @idempotent
    def patch(self, request: Request, connection_id: str, record_id: str) -> Response:
        connection = self.get_connection(connection_id)
        serializer = validated(self.update_serializer, request.data, partial=True)
        return _write(
            self,
            request,
            connection=connection,
            resource=self.resource.value,
            operation="update",
            payload=dict(serializer.data),
            target_id=record_id,
        )


# --- per resource ---------------------------------------------------------------------------------------------------

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
_EXAMPLES: dict[Resource, dict[str, Any]] = {
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
}
_RECORD_SERIALIZERS = {
    Resource.CONTACTS: ContactSerializer,
    Resource.INVOICES: InvoiceSerializer,
    Resource.LEDGER_ACCOUNTS: LedgerAccountSerializer,
    Resource.TAX_RATES: TaxRateSerializer,
    Resource.JOURNALS: JournalSerializer,
    Resource.ITEMS: ItemSerializer,
    Resource.PAYMENTS: PaymentSerializer,
}
_NAMES = {
    Resource.CONTACTS: ("contacts", "Contact", "contacts (customers and suppliers)"),
    Resource.INVOICES: ("invoices", "Invoice", "sales invoices and credit notes"),
    Resource.LEDGER_ACCOUNTS: ("ledger_accounts", "LedgerAccount", "ledger (G/L) accounts"),
    Resource.TAX_RATES: ("tax_rates", "TaxRate", "tax rates (Exact: VAT codes)"),
    Resource.JOURNALS: ("journals", "Journal", "journals"),
    Resource.ITEMS: ("items", "Item", "items (products and services)"),
    Resource.PAYMENTS: ("payments", "Payment", "the payment state of invoices (receivables)"),
}


def _list_schema(resource: Resource) -> Any:
    prefix, name, what = _NAMES[resource]
    return extend_schema(
        operation_id=f"{prefix}_list",
        summary=f"List {what}",
        description=(
            f"The connection's {what}, read live from the vendor in a stable order. Follow `next` until it is null; "
            "`updated_after` narrows the list to records changed since then."
        ),
        parameters=[
            *LIST_PARAMETERS,
            *(
                OpenApiParameter(
                    name, {"type": "string", "minLength": 1}, description="Only records of this contact (its `id`)."
                )
                for name in FILTERS.get(resource, ())
            ),
        ],
        responses={
            200: page_serializer(_RECORD_SERIALIZERS[resource], f"{name}PageSerializer"),
            **_problems(*LIST_PROBLEMS),
        },
        examples=[
            OpenApiExample(
                "A page",
                value={
                    "results": [_EXAMPLES[resource]],
                    "next": f"https://gateway.example.com/api/v1/connections/0b5d.../{resource.value}?cursor=eyJr...",
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=[resource.value],
    )


def _retrieve_schema(resource: Resource) -> Any:
    prefix, name, what = _NAMES[resource]
    return extend_schema(
        operation_id=f"{prefix}_retrieve",
        summary=f"Retrieve one of the {what}",
        parameters=[CONNECTION_ID, RECORD_ID, INCLUDE],
        responses={200: _RECORD_SERIALIZERS[resource], **_problems(*READ_PROBLEMS)},
        examples=[OpenApiExample(name, value=_EXAMPLES[resource], response_only=True, status_codes=["200"])],
        tags=[resource.value],
    )


def _read_views(resource: Resource) -> tuple[type[RecordListView], type[RecordDetailView]]:
    list_view = extend_schema_view(get=_list_schema(resource))(
        type(f"{_NAMES[resource][1]}ListView", (RecordListView,), {"resource": resource, "__module__": __name__})
    )
    detail_view = extend_schema_view(get=_retrieve_schema(resource))(
        type(f"{_NAMES[resource][1]}DetailView", (RecordDetailView,), {"resource": resource, "__module__": __name__})
    )
    return list_view, detail_view


LedgerAccountListView, LedgerAccountDetailView = _read_views(Resource.LEDGER_ACCOUNTS)
TaxRateListView, TaxRateDetailView = _read_views(Resource.TAX_RATES)
JournalListView, JournalDetailView = _read_views(Resource.JOURNALS)
_, ItemDetailView = _read_views(Resource.ITEMS)
PaymentListView, PaymentDetailView = _read_views(Resource.PAYMENTS)


@extend_schema_view(
    get=_list_schema(Resource.CONTACTS),
    post=extend_schema(
        operation_id="contacts_create",
        summary="Create a contact",
        description="Creates the contact at the vendor. Fields the vendor cannot store are listed in `warnings`.",
        parameters=[CONNECTION_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE],
        request=ContactCreateSerializer,
        responses={
            201: ContactWriteResponseSerializer,
            **_problems(*WRITE_PROBLEMS, examples=[_EXAMPLE_VENDOR_REFUSED]),
        },
        examples=[
            OpenApiExample("New customer", value=_CONTACT_INPUT, request_only=True),
            OpenApiExample(
                "Created",
                value={
                    **_CONTACT_EXAMPLE,
                    "warnings": [],
                    "mutation_id": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
        tags=["contacts"],
    ),
)
class ContactListView(RecordCreateView):
    resource = Resource.CONTACTS
    input_serializer = ContactCreateSerializer


@extend_schema_view(
    get=_retrieve_schema(Resource.CONTACTS),
    patch=extend_schema(
        operation_id="contacts_partial_update",
        summary="Update a contact",
        description="Changes only the fields given. `addresses: []` clears the stored address.",
        parameters=[CONNECTION_ID, RECORD_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE],
        request=ContactUpdateSerializer,
        responses={200: ContactWriteResponseSerializer, **_problems(*WRITE_PROBLEMS)},
        examples=[
            OpenApiExample("New e-mail address", value={"email": "billing@vandam.example"}, request_only=True),
            OpenApiExample(
                "Updated",
                value={
                    **_CONTACT_EXAMPLE,
                    "email": "billing@vandam.example",
                    "warnings": [],
                    "mutation_id": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        tags=["contacts"],
    ),
)
class ContactDetailView(RecordUpdateView):
    resource = Resource.CONTACTS
    update_serializer = ContactUpdateSerializer


_ITEM_INPUT = {
    "code": "CONSULT",
    "name": "Consultancy per uur",
    "description": "Advies en begeleiding, per uur",
    "sales_tax_rate_id": "2",
}


@extend_schema_view(
    get=_list_schema(Resource.ITEMS),
    post=extend_schema(
        operation_id="items_create",
        summary="Create an item",
        description=(
            "Creates the item (a product or service) at the vendor; `code` and `name` are required. Fields the "
            "vendor cannot store are listed in `warnings` (Exact: `unit_price`, its standard sales price is "
            "read-only in its API). A code the company already uses is refused by the vendor (422)."
        ),
        parameters=[CONNECTION_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE],
        request=ItemCreateSerializer,
        responses={
            201: ItemWriteResponseSerializer,
            **_problems(*WRITE_PROBLEMS, examples=[_EXAMPLE_VENDOR_REFUSED]),
        },
        examples=[
            OpenApiExample("New service item", value=_ITEM_INPUT, request_only=True),
            OpenApiExample(
                "Created",
                value={
                    **_EXAMPLES[Resource.ITEMS],
                    "description": _ITEM_INPUT["description"],
                    "unit_price": None,
                    "revenue_ledger_account_id": None,
                    "warnings": [],
                    "mutation_id": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
        tags=["items"],
    ),
)
class ItemListView(RecordCreateView):
    resource = Resource.ITEMS
    input_serializer = ItemCreateSerializer


@extend_schema_view(
    get=_list_schema(Resource.INVOICES),
    post=extend_schema(
        operation_id="invoices_create",
        summary="Create a sales invoice or credit note",
        description=(
            "Lines are translated through the connection's mapping (tax codes or percentages to the vendor's tax "
            "codes, default item, revenue account and journal). If the mapping cannot translate the invoice the "
            "answer is 422 `mapping_missing` and nothing is sent to the vendor. Fields the vendor cannot store are "
            "listed in `warnings`. The invoice is created unprocessed; finalize it to book it."
        ),
        parameters=[CONNECTION_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE],
        request=InvoiceCreateSerializer,
        responses={
            201: InvoiceWriteResponseSerializer,
            **_problems(*WRITE_PROBLEMS, examples=[_EXAMPLE_MAPPING_MISSING, _EXAMPLE_VENDOR_REFUSED]),
        },
        examples=[
            OpenApiExample("Three lines, three tax rates", value=_INVOICE_INPUT, request_only=True),
            OpenApiExample(
                "Created",
                value={
                    **_INVOICE_EXAMPLE,
                    "warnings": [_WARNING_EXAMPLE],
                    "mutation_id": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
        tags=["invoices"],
    ),
)
class InvoiceListView(RecordCreateView):
    resource = Resource.INVOICES
    input_serializer = InvoiceCreateSerializer


@extend_schema_view(
    get=_retrieve_schema(Resource.INVOICES),
    patch=extend_schema(
        operation_id="invoices_partial_update",
        summary="Update an invoice",
        description=(
            "Changes only the fields given. Vendors fix some fields once an invoice exists (Exact: customer, "
            "journal, type, currency and lines; everything once it is finalized): changing those is refused with "
            "422 `invalid_input` naming the field, never silently ignored."
        ),
        parameters=[CONNECTION_ID, RECORD_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE],
        request=InvoiceUpdateSerializer,
        responses={200: InvoiceWriteResponseSerializer, **_problems(*WRITE_PROBLEMS)},
        examples=[
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
                    "mutation_id": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        tags=["invoices"],
    ),
)
class InvoiceDetailView(RecordUpdateView):
    resource = Resource.INVOICES
    update_serializer = InvoiceUpdateSerializer


class InvoiceFinalizeView(ConnectionAPIView):
    @extend_schema(
        operation_id="invoices_finalize",
        summary="Finalize (process) an invoice",
        description=(
            "Has the vendor process the invoice: it is booked in the sales journal and can no longer be changed "
            "(Exact: PrintedSalesInvoices, status Processed). The answer is the invoice with `finalized: true`."
        ),
        parameters=[CONNECTION_ID, RECORD_ID, IDEMPOTENCY_KEY_PARAMETER, INCLUDE],
        request=None,
        responses={200: InvoiceWriteResponseSerializer, **_problems(*WRITE_PROBLEMS)},
        examples=[
            OpenApiExample(
                "Finalized",
                value={
                    **_INVOICE_EXAMPLE,
                    "number": "25700001",
                    "issue_date": "2025-03-01",
                    "finalized": True,
                    "warnings": [],
                    "mutation_id": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b",
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["invoices"],
    )
    @idempotent
    def post(self, request: Request, connection_id: str, record_id: str) -> Response:
        connection = self.get_connection(connection_id)
        return _write(
            self,
            request,
            connection=connection,
            resource=Resource.INVOICES.value,
            operation="finalize",
            payload={},
            target_id=record_id,
        )


# --- mapping ----------------------------------------------------------------------------------------------------

_MAPPING_EXAMPLE = {
    "tax_rates": [
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9", "vendor_code": "1"},
        {"code": "zero", "vendor_code": "0"},
    ],
    "default_revenue_ledger_account": "8000",
    "default_sales_journal": "70",
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


class MappingView(ConnectionAPIView):
    @extend_schema(
        operation_id="mapping_retrieve",
        summary="The connection's ledger mapping",
        description="Empty defaults when none was saved.",
        parameters=[CONNECTION_ID],
        responses={200: LedgerMappingOutputSerializer, **_problems(404)},
        examples=[
            OpenApiExample(
                "Mapping", value={**_MAPPING_EXAMPLE, "updated_at": "2025-03-01T09:30:00Z"}, response_only=True
            )
        ],
        tags=["mapping"],
    )
    def get(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        mapping, stored = selectors.mapping_get(connection=connection)
        return Response(mapping_data(mapping, updated_at=stored.updated_at if stored else None))

    @extend_schema(
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
            OpenApiExample(
                "Saved", value={**_MAPPING_EXAMPLE, "updated_at": "2025-03-01T09:30:00Z"}, response_only=True
            ),
        ],
        tags=["mapping"],
    )
    @idempotent
    def put(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        serializer = validated(LedgerMappingSerializer, request.data)
        with as_problems():
            stored = services.mapping_save(connection=connection, mapping=serializer.to_mapping())
        mapping, stored = selectors.mapping_get(connection=connection)
        return Response(mapping_data(mapping, updated_at=stored.updated_at if stored else None))


# --- passthrough ------------------------------------------------------------------------------------------------


class PassthroughView(ConnectionAPIView):
    @extend_schema(
        operation_id="passthrough_create",
        summary="Call the vendor's API directly",
        description=(
            "For anything the unified model does not cover. `path` is relative to the connection's company (Exact: "
            "after `/api/v1/{division}/`); the gateway adds authentication, region and company and applies the "
            "vendor's rate limits. Paths that would leave the company (other divisions, `current/Me`, OAuth) are "
            "refused with 403 `passthrough_denied`. The vendor's status and body come back as they are; writes "
            "(POST, PUT, DELETE) are recorded as mutations."
        ),
        parameters=[CONNECTION_ID, IDEMPOTENCY_KEY_PARAMETER],
        request=PassthroughRequestSerializer,
        responses={
            200: PassthroughResponseSerializer,
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
    @idempotent
    def post(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        serializer = validated(PassthroughRequestSerializer, request.data)
        data = serializer.validated_data
        if data["method"] == "GET":
            with as_problems():
                result = selectors.passthrough_get(connection=connection, path=data["path"], query=dict(data["query"]))
            return Response({"status": result.status, "body": result.body})
        return _write(
            self,
            request,
            connection=connection,
            resource=services.PASSTHROUGH,
            operation=data["method"].lower(),
            payload={
                "method": data["method"],
                "path": data["path"],
                "query": dict(data["query"]),
                "body": data["body"],
            },
        )
