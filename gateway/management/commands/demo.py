"""manage.py demo: migrate, create demo data, start the Exact sandbox, a Celery worker and the web server.

It prints an API key, a curl line, an admin login and a connect link that works in a browser against the sandbox.
With the sandbox, the demo tenant is also connected to division 101 (the real OAuth flow, with the sandbox's
auto-consent standing in for the user's click), gets a default ledger mapping, and curl lines that create and list
invoices through the unified API are printed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base.errors import VendorError
from connectors.exact.sandbox.control_client import SandboxControl, SandboxControlError
from connectors.registry import reset_registry
from gateway.settings.env import VAR_DIR
from tenants.connect import services as connect_services
from tenants.models import ApiKey, Connection, ConnectionStatus, Tenant, Workspace
from tenants.services import (
    api_key_create,
    api_key_revoke,
    connect_link_create,
    tenant_create,
    workspace_create,
    workspace_update,
)

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


def demo_connection_ensure(control: SandboxControl, *, tenant: Tenant) -> Connection:
    """The demo tenant's connection to division 101, made once through the real connect services: link, consent
    start, Exact's redirect with a code (auto-consent answers for Jan de Vries), state check, code exchange,
    division list, connection. Auto-consent is switched off again so the printed link shows the consent page."""
    existing = Connection.objects.filter(
        tenant=tenant, connector="exact", company_id=str(DEMO_DIVISION), status=ConnectionStatus.ACTIVE
    ).first()
    if existing is not None:
        return existing
    # An operator-made link ending on the gateway's own /connect/done page, like admin's reconnect links.
    created = connect_link_create(
        tenant=tenant,
        connector_id="exact",
        redirect_url=f"{settings.LEDGERBRIDGE_PUBLIC_URL}/connect/done",
        trusted_redirect=True,
    )
    start = connect_services.connect_consent_start(link=created.link, region="nl")
    control.set_auto_consent(DEMO_CLIENT_ID, user_id=DEMO_USER_ID, divisions=list(DEMO_DIVISIONS))
    try:
        location = httpx.get(start.authorization_url, follow_redirects=False, timeout=30).headers["location"]
    finally:
        control.clear_auto_consent(DEMO_CLIENT_ID)
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    link = type(created.link).objects.get(pk=created.link.pk)
    connect_services.connect_state_claim(
        link=link, state=query["state"], session_state_hash=connect_services.hash_state(start.state)
    )
    pending = connect_services.connect_consent_finish(link=link, region="nl", code=query["code"])
    (connection,) = connect_services.connect_complete(
        link_id=str(link.pk), pending=pending, company_ids=[str(DEMO_DIVISION)]
    )
    return connection


def demo_mapping_ensure(connection: Connection) -> str:
    """Save the default mapping (checked in the division like PUT /mapping); returns a problem, or ""."""
    from unified_models import services as unified_services
    from unified_models.errors import MappingInvalid
    from unified_models.mapping import LedgerMapping

    try:
        unified_services.mapping_save(connection=connection, mapping=LedgerMapping.from_dict(DEMO_MAPPING))
    except (MappingInvalid, VendorError) as exc:
        return f"the default mapping was not saved: {exc}"
    return ""


def demo_customer_id(connection: Connection) -> str:
    """The id of one of the division's customers, for the printed invoice example."""
    from connectors.base.data import Resource
    from unified_models import selectors as unified_selectors

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


class Command(BaseCommand):
    help = "Run the gateway with demo data: prints an API key, a curl line, an admin login and a connect link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8700, help="Port of the Exact sandbox (8700).")
        parser.add_argument("--no-sandbox", action="store_true", help="Use the Exact settings from the environment.")
        parser.add_argument("--no-serve", action="store_true", help="Set up the demo data and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        base = f"http://{options['host']}:{options['port']}"
        # Connect links and the OAuth callback must point at this server unless the operator says otherwise.
        public_url = os.environ.get("LEDGERBRIDGE_PUBLIC_URL", base).rstrip("/")
        settings.LEDGERBRIDGE_PUBLIC_URL = public_url

        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first() or workspace_create(
            name="Demo Webshop", slug=DEMO_SLUG
        )
        host = urlsplit(public_url).hostname or "127.0.0.1"
        workspace_update(
            workspace=workspace,
            allowed_redirect_hosts=sorted({*workspace.allowed_redirect_hosts, host, "localhost", "127.0.0.1"}),
        )
        # Keys are shown once; each demo run issues a fresh one and retires the previous demo key.
        for old in ApiKey.objects.filter(workspace=workspace, name="demo", revoked_at__isnull=True):
            api_key_revoke(api_key=old)
        created = api_key_create(workspace=workspace, name="demo")
        admin_password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        admin_user = user_model.objects.filter(username="admin").first() or user_model(username="admin")
        admin_user.is_staff = admin_user.is_superuser = True
        admin_user.set_password(admin_password)
        admin_user.save()
        tenant = Tenant.objects.filter(workspace=workspace, external_id=DEMO_TENANT_EXTERNAL_ID).first() or (
            tenant_create(workspace=workspace, external_id=DEMO_TENANT_EXTERNAL_ID, name="Bakkerij De Gouden Korst")
        )

        sandbox: subprocess.Popen[bytes] | None = None
        sandbox_url = f"http://127.0.0.1:{options['sandbox_port']}"
        use_sandbox = not options["no_sandbox"] and not options["no_serve"]
        if use_sandbox:
            sandbox = self._start_sandbox(options["sandbox_port"], sandbox_url)
            with SandboxControl(sandbox_url) as control:
                sandbox_world_ensure(control, public_url=public_url)
            # This process serves the pages; the worker inherits os.environ when it starts.
            for key, value in sandbox_env(sandbox_url=sandbox_url, public_url=public_url).items():
                os.environ[key] = value
                setattr(settings, key, value)
            reset_registry()
        link = connect_link_create(tenant=tenant, connector_id="exact", redirect_url=f"{public_url}/connect/done")

        lines = [
            "",
            "Ledgerbridge demo",
            f"  workspace : {workspace.name} ({workspace.slug})",
            f"  API key   : {created.secret}",
            f"  try it    : curl -s -H 'Authorization: Bearer {created.secret}' {base}/api/v1/workspace",
            f"  API docs  : {base}/api/docs/",
            f"  admin     : {base}/admin/  (admin / {admin_password})",
            f"  tenant    : {tenant.name} ({tenant.pk})",
            f"  connect   : {link.url}",
            "              (open in a browser within the hour; choose Netherlands, sign in as Jan de Vries)",
        ]
        if use_sandbox:
            lines.append(f"  sandbox   : {sandbox_url}  (Exact Online stand-in; control API at /_control/health)")
            lines.extend(self._demo_connection_lines(sandbox_url, tenant=tenant, base=base, api_key=created.secret))
        self.stdout.write("\n".join([*lines, ""]))
        if options["no_serve"]:
            return
        try:
            self._serve(options["host"], options["port"])
        finally:
            if sandbox is not None:
                _stop(sandbox)

    def _demo_connection_lines(self, sandbox_url: str, *, tenant: Tenant, base: str, api_key: str) -> list[str]:
        try:
            with SandboxControl(sandbox_url) as control:
                connection = demo_connection_ensure(control, tenant=tenant)
        except (connect_services.FlowError, VendorError, SandboxControlError, httpx.HTTPError, KeyError) as exc:
            return [f"  connection: not created ({exc.__class__.__name__}); use the connect link instead"]
        problem = demo_mapping_ensure(connection)
        lines = [
            f"  connection: {connection.company_name} (division {connection.company_id}), id {connection.pk}",
            f"  mapping   : {base}/api/v1/connections/{connection.pk}/mapping"
            + (f"  ({problem})" if problem else "  (VAT 21/9/0 %, journal 70, item CONSULT, G/L 8000)"),
        ]
        return lines + invoice_curl_lines(
            base=base, api_key=api_key, connection_id=str(connection.pk), contact_id=demo_customer_id(connection)
        )

    def _start_sandbox(self, port: int, sandbox_url: str) -> subprocess.Popen[bytes] | None:
        """Start `manage.py exact_sandbox` (state kept in var/exact-sandbox.json), or reuse one already running."""
        if _sandbox_healthy(sandbox_url):
            return None
        env = {**os.environ}
        env.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")
        # Our own interpreter and manage.py with fixed arguments: no outside input reaches the command line.
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "exact_sandbox",
                "--port",
                str(port),
                "--snapshot",
                str(VAR_DIR / "exact-sandbox.json"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"The Exact sandbox did not start on port {port} (is the port in use?).")
            if _sandbox_healthy(sandbox_url):
                return process
            time.sleep(0.2)
        _stop(process)
        raise CommandError(f"The Exact sandbox did not answer on {sandbox_url} within 30 s.")

    def _serve(self, host: str, port: int) -> None:
        env = {**os.environ}
        env.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")
        # Our own interpreter with fixed arguments (the schedule path is ours): no outside input on the command line.
        worker = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gateway",
                "worker",
                "--beat",
                # Beat's state file belongs under var/, not in whatever directory the demo was started from.
                "--schedule",
                str(VAR_DIR / "celerybeat-schedule"),
                "--loglevel",
                "WARNING",
                "--concurrency",
                "2",
                "-Q",
                "default,vendor,sync,webhooks,maintenance",
            ],
            env=env,
        )
        # SIGTERM (docker stop, a test ending the demo) must run the cleanup below, like Ctrl-C does.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            _stop(worker)


def _sandbox_healthy(url: str) -> bool:
    try:
        with SandboxControl(url, timeout=1.0) as control:
            return control.health().get("status") == "ok"
    except (httpx.HTTPError, SandboxControlError, ValueError, KeyError):  # refused, timeout, garbage: not yet
        return False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets the sandbox save its snapshot and the worker finish its task.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
