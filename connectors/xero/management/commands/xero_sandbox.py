"""`manage.py xero_sandbox`: run the Xero sandbox in the foreground on its own port."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base.serving import serve_until_interrupted
from connectors.xero.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Serve the Xero sandbox (identity/OAuth, connections, Accounting API, webhooks, control API) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8710, help="Port (default 8710).")
        parser.add_argument(
            "--snapshot",
            default=None,
            help="JSON file: loaded at start if present, saved on shutdown and on POST /_control/snapshot.",
        )
        parser.add_argument("--tls", action="store_true", help="Serve HTTPS with a throwaway self-signed cert.")
        parser.add_argument(
            "--webhook-batch-delay",
            type=float,
            default=0.5,
            help="Seconds events are collected before one signed webhook POST per app (default 0.5).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        serve_until_interrupted(
            lambda: _server_start(options),
            serve=lambda server: self._serve(server, options),
            stop=SandboxServer.stop,
        )

    def _serve(self, server: SandboxServer, options: dict[str, Any]) -> None:
        self.stdout.write(f"Xero sandbox on {server.root_url}")
        self.stdout.write(f"  authorize (login.xero.com):      {server.authorize_url}")
        self.stdout.write(f"  token (identity.xero.com):       {server.token_url}")
        self.stdout.write(f"  connections (api.xero.com):      {server.root_url}/connections")
        self.stdout.write(f"  Accounting API (api.xero.com):   {server.accounting_url}")
        self.stdout.write(f"  control API: {server.root_url}/_control/health")
        if server.ca_file is not None:
            self.stdout.write(f"  trust this certificate: {server.ca_file}")
        if options["snapshot"]:
            self.stdout.write(f"  snapshot: {options['snapshot']}")
        self.stdout.write("Ctrl-C to stop.")
        server.serve_forever()


def _server_start(options: dict[str, Any]) -> SandboxServer:
    try:
        server = SandboxServer(
            host=options["host"],
            port=options["port"],
            snapshot_path=options["snapshot"],
            tls=options["tls"],
            webhook_batch_delay=options["webhook_batch_delay"],
        )
        server.start()
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    return server
