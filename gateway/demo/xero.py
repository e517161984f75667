"""The demo's Xero side: the Xero sandbox world, the demo tenant's Xero connection and mapping, the lines printed.

Like the Exact side (gateway.demo.services): the demo tenant is connected to the organisation "Gouden Korst Ltd"
through the real connect services (the sandbox's auto-consent standing in for the user's click; no region step)
and gets a default ledger mapping with Xero's tax types and account code.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings

from connectors.base.errors import VendorError
from connectors.base.mapping import LedgerMapping
from connectors.xero.sandbox.control_client import SandboxControl
from tenants.connect import services as connect_services
from tenants.models import Connection, ConnectionStatus, Tenant
from tenants.services import connect_link_create
from unified_models import services as unified_services
from unified_models.errors import MappingInvalid

# Fixed, so a sandbox snapshot stays valid across runs.
XERO_DEMO_CLIENT_ID = "D3E4F5A6B7C84D9EA0B1C2D3E4F5A6B7"
XERO_DEMO_CLIENT_SECRET = "demo-xero-sandbox-client-secret"
XERO_DEMO_WEBHOOK_SECRET = "demo-xero-sandbox-webhook-key"
XERO_DEMO_USER_ID = "5a7c9e1b-3d5f-4a6b-8c9d-0e1f2a3b4c5d"
XERO_DEMO_TENANT_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
XERO_DEMO_ORGANISATIONS = {
    XERO_DEMO_TENANT_ID: "Gouden Korst Ltd",
    "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9": "Korst Property Ltd",
}
# The sandbox's UK defaults: tax types OUTPUT2 (20 %), RROUTPUT (5 %), ZERORATEDOUTPUT (0 %); sales account 200.
XERO_DEMO_MAPPING = {
    "tax_rates": [
        {"rate": "20", "vendor_code": "OUTPUT2"},
        {"rate": "5", "vendor_code": "RROUTPUT"},
        {"rate": "0", "vendor_code": "ZERORATEDOUTPUT"},
    ],
    "default_revenue_ledger_account": "200",
}


def xero_world_ensure(control: SandboxControl, *, public_url: str) -> None:
    """Register the demo app (redirect URI = this gateway's callback), user and organisations (seeded); safe to
    repeat: a restored snapshot keeps everything, including the redirect URI of the run that made it (the Xero
    sandbox registers an app once), so a demo on another public URL starts from a fresh var/xero-sandbox.json."""
    if control.health()["organisations"]:
        return
    control.register_app(
        client_id=XERO_DEMO_CLIENT_ID,
        client_secret=XERO_DEMO_CLIENT_SECRET,
        webhook_key=XERO_DEMO_WEBHOOK_SECRET,
        redirect_uris=[f"{public_url}/connect/callback"],
        name="Ledgerbridge demo",
    )
    control.register_user(
        user_id=XERO_DEMO_USER_ID, email="amy@goudenkorst.co.uk", given_name="Amy", family_name="Baker"
    )
    for tenant_id, name in XERO_DEMO_ORGANISATIONS.items():
        control.register_organisation(tenant_id=tenant_id, name=name, country_code="GB", users=[XERO_DEMO_USER_ID])
    control.seed(XERO_DEMO_TENANT_ID, contacts=12, invoices=20, payments=5, seed=1)


def xero_connection_ensure(control: SandboxControl, *, tenant: Tenant) -> Connection:
    """The demo tenant's connection to Gouden Korst Ltd, made once through the real connect services."""
    existing = Connection.objects.filter(
        tenant=tenant, connector="xero", company_id=XERO_DEMO_TENANT_ID, status=ConnectionStatus.ACTIVE
    ).first()
    if existing is not None:
        return existing
    created = connect_link_create(
        tenant=tenant,
        connector_id="xero",
        redirect_url=f"{settings.LEDGERBRIDGE_PUBLIC_URL}/connect/done",
        trusted_redirect=True,
    )
    start = connect_services.connect_consent_start(link=created.link, region="")
    control.set_auto_consent(XERO_DEMO_CLIENT_ID, user_id=XERO_DEMO_USER_ID, tenant_ids=list(XERO_DEMO_ORGANISATIONS))
    try:
        location = httpx.get(start.authorization_url, follow_redirects=False, timeout=30).headers["location"]
    finally:
        control.clear_auto_consent(XERO_DEMO_CLIENT_ID)
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    link = type(created.link).objects.get(pk=created.link.pk)
    connect_services.connect_state_claim(
        link=link, state=query["state"], session_state_hash=connect_services.hash_state(start.state)
    )
    pending = connect_services.connect_consent_finish(link=link, region="", code=query["code"])
    (connection,) = connect_services.connect_complete(
        link_id=str(link.pk), pending=pending, company_ids=[XERO_DEMO_TENANT_ID]
    )
    return connection


def xero_mapping_ensure(connection: Connection) -> str:
    """Save the default mapping (checked in the organisation like PUT /mapping); returns a problem, or ""."""
    try:
        unified_services.mapping_save(connection=connection, mapping=LedgerMapping.from_dict(XERO_DEMO_MAPPING))
    except (MappingInvalid, VendorError) as exc:
        return f"the default mapping was not saved: {exc}"
    return ""


def xero_sandbox_env(*, sandbox_url: str) -> dict[str, str]:
    """Settings for every gateway process to talk to the Xero sandbox as the demo app."""
    return {
        "XERO_SANDBOX_URL": sandbox_url,
        "XERO_CLIENT_ID": XERO_DEMO_CLIENT_ID,
        "XERO_CLIENT_SECRET": XERO_DEMO_CLIENT_SECRET,
        "XERO_WEBHOOK_SECRET": XERO_DEMO_WEBHOOK_SECRET,
    }
