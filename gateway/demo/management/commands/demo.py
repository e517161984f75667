"""manage.py demo: migrate, create demo data, start the Exact sandbox, a Celery worker and the web server.

It prints an API key, a curl line, an admin login and a connect link that works in a browser against the sandbox.
With the sandbox, the demo tenant is also connected to division 101 (gateway.demo.services), gets a default
ledger mapping, and curl lines that create and list invoices through the unified API are printed.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base.errors import VendorError
from connectors.base.serving import serve_until_interrupted
from connectors.exact.sandbox.control_client import SandboxControl, SandboxControlError
from connectors.registry import reset_registry
from connectors.xero.sandbox.control_client import SandboxControl as XeroSandboxControl
from connectors.xero.sandbox.control_client import SandboxControlError as XeroSandboxControlError
from gateway.demo.services import (
    DEMO_SLUG,
    DEMO_TENANT_EXTERNAL_ID,
    demo_connection_ensure,
    demo_customer_id,
    demo_mapping_ensure,
    invoice_curl_lines,
    sandbox_env,
    sandbox_world_ensure,
)
from gateway.demo.xero import (
    XERO_DEMO_TENANT_ID,
    xero_connection_ensure,
    xero_mapping_ensure,
    xero_sandbox_env,
    xero_world_ensure,
)
from gateway.settings.env import VAR_DIR
from tenants.connect import services as connect_services
from tenants.models import ApiKey, Tenant, Workspace
from tenants.services import (
    api_key_create,
    api_key_revoke,
    connect_link_create,
    tenant_create,
    workspace_create,
    workspace_update,
)


class Command(BaseCommand):
    help = "Run the gateway with demo data: prints an API key, a curl line, an admin login and a connect link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8700, help="Port of the Exact sandbox (8700).")
        parser.add_argument("--xero-sandbox-port", type=int, default=8710, help="Port of the Xero sandbox (8710).")
        parser.add_argument(
            "--no-sandbox", action="store_true", help="Use the Exact and Xero settings from the environment."
        )
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
        xero_sandbox: subprocess.Popen[bytes] | None = None
        sandbox_url = f"http://127.0.0.1:{options['sandbox_port']}"
        xero_url = f"http://127.0.0.1:{options['xero_sandbox_port']}"
        use_sandbox = not options["no_sandbox"] and not options["no_serve"]
        if use_sandbox:
            sandbox = self._start_sandbox(options["sandbox_port"], sandbox_url)
            with SandboxControl(sandbox_url) as control:
                sandbox_world_ensure(control, public_url=public_url)
            xero_sandbox = self._start_sandbox(
                options["xero_sandbox_port"], xero_url, command="xero_sandbox", vendor="Xero"
            )
            with XeroSandboxControl(xero_url) as xero_control:
                xero_world_ensure(xero_control, public_url=public_url)
            # This process serves the pages; the worker inherits os.environ when it starts.
            env = {
                **sandbox_env(sandbox_url=sandbox_url, public_url=public_url),
                **xero_sandbox_env(sandbox_url=xero_url),
            }
            for key, value in env.items():
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
            lines.append(f"  xero      : {xero_url}  (Xero stand-in; control API at /_control/health)")
            lines.extend(self._xero_connection_lines(xero_url, tenant=tenant, base=base, api_key=created.secret))
        self.stdout.write("\n".join([*lines, ""]))
        if options["no_serve"]:
            return
        try:
            self._serve(options["host"], options["port"])
        finally:
            for process in (sandbox, xero_sandbox):
                if process is not None:
                    _stop(process)

    def _xero_connection_lines(self, xero_url: str, *, tenant: Tenant, base: str, api_key: str) -> list[str]:
        try:
            with XeroSandboxControl(xero_url) as control:
                connection = xero_connection_ensure(control, tenant=tenant)
        except (connect_services.FlowError, VendorError, XeroSandboxControlError, httpx.HTTPError, KeyError) as exc:
            return [f"  xero conn.: not created ({exc.__class__.__name__}); create a connect link for xero instead"]
        problem = xero_mapping_ensure(connection)
        url = f"{base}/api/v1/connections/{connection.pk}"
        return [
            f"  xero conn.: {connection.company_name} (organisation {XERO_DEMO_TENANT_ID}), id {connection.pk}",
            f"  xero map  : {url}/mapping"
            + (f"  ({problem})" if problem else "  (tax types OUTPUT2/RROUTPUT/ZERORATEDOUTPUT, account 200)"),
            f"  xero inv. : curl -s -H 'Authorization: Bearer {api_key}' '{url}/invoices?page_size=5'",
        ]

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

    def _start_sandbox(
        self, port: int, sandbox_url: str, *, command: str = "exact_sandbox", vendor: str = "Exact"
    ) -> subprocess.Popen[bytes] | None:
        """Start `manage.py <vendor>_sandbox` (state kept in var/<vendor>-sandbox.json), or reuse a running one."""
        if _sandbox_healthy(sandbox_url):
            return None
        env = {**os.environ}
        env.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")
        # Our own interpreter and manage.py with fixed arguments: no outside input reaches the command line.
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                command,
                "--port",
                str(port),
                "--snapshot",
                str(VAR_DIR / f"{command.replace('_', '-')}.json"),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"The {vendor} sandbox did not start on port {port} (is the port in use?).")
            if _sandbox_healthy(sandbox_url):
                return process
            time.sleep(0.2)
        _stop(process)
        raise CommandError(f"The {vendor} sandbox did not answer on {sandbox_url} within 30 s.")

    def _serve(self, host: str, port: int) -> None:
        # Ctrl-C or SIGTERM (docker stop, a test ending the demo) stops the worker once runserver is interrupted.
        serve_until_interrupted(
            _worker_start,
            serve=lambda worker: call_command("runserver", f"{host}:{port}", use_reloader=False),
            stop=_stop,
        )


def _sandbox_healthy(url: str) -> bool:
    try:
        with SandboxControl(url, timeout=1.0) as control:
            return control.health().get("status") == "ok"
    except (httpx.HTTPError, SandboxControlError, ValueError, KeyError):  # refused, timeout, garbage: not yet
        return False


def _worker_start() -> subprocess.Popen[bytes]:
    env = {**os.environ}
    env.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")
    # Our own interpreter with fixed arguments (the schedule path is ours): no outside input on the command line.
    return subprocess.Popen(  # noqa: S603
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


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets the sandbox save its snapshot and the worker finish its task.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
