"""`manage.py xero_sandbox`: run the Xero sandbox in the foreground on its own port."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

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
        # SIGTERM (docker stop, systemd) must save the snapshot too, like Ctrl-C.
        signal.signal(signal.SIGTERM, _interrupt)
        # Ctrl-C too, even when started with SIGINT ignored (a background job of a non-interactive shell inherits
        # that, and Python then installs no KeyboardInterrupt handler).
        signal.signal(signal.SIGINT, _interrupt)
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
        # The server answers as soon as start() returns: a Ctrl-C or SIGTERM before serve_forever() takes over
        # must stop it too (a test once saw the process outlive its caller's 30 s wait under load).
        try:
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
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
