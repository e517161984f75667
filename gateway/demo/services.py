"""What the demo sets up: the sandbox world, the demo tenant's connection and mapping, and the lines it prints.

With the Exact sandbox, the demo tenant is connected to division 101 through the real connect services (the
sandbox's auto-consent standing in for the user's click) and gets a default ledger mapping. The connect and
mapping steps are vendor-neutral (`connection_via_auto_consent`, `mapping_ensure`); gateway.demo.xero uses them
for the Xero organisation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings

from connectors.base.data import Resource
from connectors.base.errors import VendorError
from connectors.base.mapping import LedgerMapping
from connectors.exact.sandbox.control_client import SandboxControl
from tenants.connect import services as connect_services
from tenants.models import Connection, ConnectionStatus, Tenant
from tenants.services import connect_link_create
from unified_models import selectors as unified_selectors
from unified_models import services as unified_services
from unified_models.errors import MappingInvalid

DEMO_SLUG = "demo"
DEMO_TENANT_EXTERNAL_ID = "demo-bakery"
# The demo's app registration and Exact user in the sandbox: fixed, so a sandbox snapshot stays valid across runs.
DEMO_CLIENT_ID = "6b1f0c2e-5d1a-4c3b-9e8f-0a1b2c3d4e5f"
DEMO_CLIENT_SECRET = "demo-sandbox-client-secret"
DEMO_WEBHOOK_SECRET = "demo-sandbox-webhook-secret"
DEMO_USER_ID = "0d9a1c55-7e2b-4f61-8a3d-5c6b7e8f9a01"
DEMO_DIVISIONS = {101: "Bakkerij De Gouden Korst B.V.", 102: "De Gouden Korst Vastgoed B.V.", 103: "Holding Korst"}
DEMO_DIVISION = 101
# The sandbox's Dutch defaults: VAT codes 2 (21 %), 1 (9 %), 0 (0 %), G/L 8000, sales journal 70, item CONSULT.
DEMO_MAPPING = {
    "tax_rates": [
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9", "vendor_code": "1"},
        {"rate": "0", "vendor_code": "0"},
    ],
    "default_revenue_ledger_account": "8000",
    "default_sales_journal": "70",
    "default_item": "CONSULT",
    "items_by_code": {"hosting": "HOSTING"},
}


def sandbox_world_ensure(control: SandboxControl, *, public_url: str) -> None:
    """Register the demo app (redirect URI = this gateway's callback), user and divisions; safe to repeat."""
    control.register_app(
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        webhook_secret=DEMO_WEBHOOK_SECRET,
        redirect_uris=[f"{public_url}/connect/callback"],
        name="Ledgerbridge demo",
    )
    if control.health()["divisions"]:
        return  # restored from the snapshot: re-registering the user would reset its division access
    control.register_user(
        user_id=DEMO_USER_ID,
        username="jan@goudenkorst.nl",
        full_name="Jan de Vries",
        email="jan@goudenkorst.nl",
        region="nl",
    )
    for code, name in DEMO_DIVISIONS.items():
        control.register_division(code=code, name=name, region="nl", users=[DEMO_USER_ID])
    control.set_current_division(DEMO_USER_ID, min(DEMO_DIVISIONS))


def connection_via_auto_consent(
    *,
    tenant: Tenant,
    connector_id: str,
    region: str,
    company_id: str,
    consent: Callable[[], None],
    withdraw_consent: Callable[[], None],
) -> Connection:
    """The demo tenant's connection to one company, made once through the real connect services: an operator-made
    link ending on the gateway's own /connect/done page (like admin's reconnect links), consent start, the vendor's
    redirect with a code (the sandbox's auto-consent, switched on by `consent`, answers for the demo user), state
    check, code exchange, company list, connection. `withdraw_consent` switches auto-consent off again, so the
    printed connect link shows the sandbox's consent page."""
    existing = Connection.objects.filter(
        tenant=tenant, connector=connector_id, company_id=company_id, status=ConnectionStatus.ACTIVE
    ).first()
    if existing is not None:
        return existing
    created = connect_link_create(
        tenant=tenant,
        connector_id=connector_id,
        redirect_url=f"{settings.LEDGERBRIDGE_PUBLIC_URL}/connect/done",
        trusted_redirect=True,
    )
    start = connect_services.connect_consent_start(link=created.link, region=region)
    consent()
    try:
        location = httpx.get(start.authorization_url, follow_redirects=False, timeout=30).headers["location"]
    finally:
        withdraw_consent()
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    link = type(created.link).objects.get(pk=created.link.pk)
    connect_services.connect_state_claim(
        link=link, state=query["state"], session_state_hash=connect_services.hash_state(start.state)
    )
    pending = connect_services.connect_consent_finish(link=link, region=region, code=query["code"])
    (connection,) = connect_services.connect_complete(link_id=str(link.pk), pending=pending, company_ids=[company_id])
    return connection


def mapping_ensure(connection: Connection, mapping: dict[str, Any]) -> str:
    """Save a default mapping (checked in the company like PUT /mapping); returns a problem, or ""."""
    try:
        unified_services.mapping_save(connection=connection, mapping=LedgerMapping.from_dict(mapping))
    except (MappingInvalid, VendorError) as exc:
        return f"the default mapping was not saved: {exc}"
    return ""


def demo_connection_ensure(control: SandboxControl, *, tenant: Tenant) -> Connection:
    """The demo tenant's connection to division 101 (auto-consent answers for Jan de Vries)."""
    return connection_via_auto_consent(
        tenant=tenant,
        connector_id="exact",
        region="nl",
        company_id=str(DEMO_DIVISION),
        consent=lambda: control.set_auto_consent(DEMO_CLIENT_ID, user_id=DEMO_USER_ID, divisions=list(DEMO_DIVISIONS)),
        withdraw_consent=lambda: control.clear_auto_consent(DEMO_CLIENT_ID),
    )


def demo_mapping_ensure(connection: Connection) -> str:
    """Save the default Dutch mapping; returns a problem, or ""."""
    return mapping_ensure(connection, DEMO_MAPPING)


def demo_customer_id(connection: Connection) -> str:
    """The id of one of the division's customers, for the printed invoice example."""
    try:
        page = unified_selectors.record_list(connection=connection, resource=Resource.CONTACTS, page_size=1)
    except Exception:  # the example then shows a placeholder; the demo itself must still start
        return "<contact id>"
    return str(page.records[0].id) if page.records else "<contact id>"


def invoice_curl_lines(*, base: str, api_key: str, connection_id: str, contact_id: str) -> list[str]:
    """curl lines that create an invoice (three lines at 21 %, 9 % and 0 %) and list invoices."""
    invoice = {
        "contact_id": contact_id,
        "reference": "DEMO-1",
        "lines": [
            {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"},
            {"description": "Handbook", "quantity": "1", "unit_price": "39.95", "tax_rate": "9"},
            {"description": "Export service", "quantity": "1", "unit_price": "50.00", "tax_rate": "0"},
        ],
    }
    url = f"{base}/api/v1/connections/{connection_id}/invoices"
    auth = f"-H 'Authorization: Bearer {api_key}'"
    return [
        f"  invoice   : curl -s {auth} -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' "
        f"-d '{json.dumps(invoice)}' {url}",
        f"  invoices  : curl -s {auth} '{url}?page_size=5'",
    ]


def sandbox_env(*, sandbox_url: str, public_url: str) -> dict[str, str]:
    """Settings for every gateway process (this one, the worker) to talk to the sandbox as the demo app."""
    return {
        "EXACT_SANDBOX_URL": sandbox_url,
        "EXACT_CLIENT_ID": DEMO_CLIENT_ID,
        "EXACT_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "EXACT_WEBHOOK_SECRET": DEMO_WEBHOOK_SECRET,
        "LEDGERBRIDGE_PUBLIC_URL": public_url,
    }
