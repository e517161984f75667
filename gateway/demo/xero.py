"""The demo's Xero side: the Xero sandbox world, the demo tenant's Xero connection and mapping, the lines printed.

Like the Exact side (gateway.demo.services): the demo tenant is connected to the organisation "Gouden Korst Ltd"
through the real connect services (the sandbox's auto-consent standing in for the user's click; no region step)
and gets a default ledger mapping with Xero's tax types and account code.
"""

from __future__ import annotations

from connectors.xero.sandbox.control_client import SandboxControl
from gateway.demo.services import connection_via_auto_consent, mapping_ensure
from tenants.models import Connection, Tenant

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
    """The demo tenant's connection to Gouden Korst Ltd (auto-consent answers for Amy Baker; no region step)."""
    return connection_via_auto_consent(
        tenant=tenant,
        connector_id="xero",
        region="",
        company_id=XERO_DEMO_TENANT_ID,
        consent=lambda: control.set_auto_consent(
            XERO_DEMO_CLIENT_ID, user_id=XERO_DEMO_USER_ID, tenant_ids=list(XERO_DEMO_ORGANISATIONS)
        ),
        withdraw_consent=lambda: control.clear_auto_consent(XERO_DEMO_CLIENT_ID),
    )


def xero_mapping_ensure(connection: Connection) -> str:
    """Save the default UK mapping; returns a problem, or ""."""
    return mapping_ensure(connection, XERO_DEMO_MAPPING)


def xero_sandbox_env(*, sandbox_url: str) -> dict[str, str]:
    """Settings for every gateway process to talk to the Xero sandbox as the demo app."""
    return {
        "XERO_SANDBOX_URL": sandbox_url,
        "XERO_CLIENT_ID": XERO_DEMO_CLIENT_ID,
        "XERO_CLIENT_SECRET": XERO_DEMO_CLIENT_SECRET,
        "XERO_WEBHOOK_SECRET": XERO_DEMO_WEBHOOK_SECRET,
    }
