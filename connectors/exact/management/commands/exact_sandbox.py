"""`manage.py exact_sandbox`: run the Exact Online sandbox in the foreground on its own port."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.base.serving import serve_until_interrupted
from connectors.exact.sandbox.server import SandboxServer
from connectors.exact.sandbox.state import REGIONS


class Command(BaseCommand):
    help = "Serve the Exact Online sandbox (OAuth, REST API, webhooks, control API) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8700, help="Port (default 8700).")
        parser.add_argument(
            "--regions",
            default=",".join(REGIONS),
            help=f"Comma-separated regions to serve, each under /<region>/ (default {','.join(REGIONS)}).",
        )
        parser.add_argument(
            "--root-region",
            default=None,
            help="Also serve this region at the root (/api/oauth2/…, /api/v1/…) for clients that take a bare host.",
        )
        parser.add_argument(
            "--snapshot",
            default=None,
            help="JSON file: loaded at start if present, saved on shutdown and on POST /_control/snapshot.",
        )
        parser.add_argument("--tls", action="store_true", help="Serve HTTPS with a throwaway self-signed cert.")
        parser.add_argument(
            "--webhook-validation-delay",
            type=float,
            default=1.0,
            help="Seconds before the empty validation POST to a new webhook subscription (Exact: about 1 s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        regions = [region.strip() for region in options["regions"].split(",") if region.strip()]
        serve_until_interrupted(
            lambda: _server_start(options, regions),
            serve=lambda server: self._serve(server, options, regions),
            stop=SandboxServer.stop,
        )

    def _serve(self, server: SandboxServer, options: dict[str, Any], regions: list[str]) -> None:
        self.stdout.write(f"Exact Online sandbox on {server.root_url}")
        for region in regions:
            self.stdout.write(
                f"  {region}: {server.base_url(region)}/api/oauth2/auth  {server.base_url(region)}/api/v1"
            )
        if server.root_region is not None:
            host = server.host_url()
            self.stdout.write(f"  {server.root_region} at the root: {host}/api/oauth2/auth  {host}/api/v1")
        self.stdout.write(f"  control API: {server.root_url}/_control/health")
        if server.ca_file is not None:
            self.stdout.write(f"  trust this certificate: {server.ca_file}")
        if options["snapshot"]:
            self.stdout.write(f"  snapshot: {options['snapshot']}")
        self.stdout.write("Ctrl-C to stop.")
        # serve_forever() saves the snapshot on the way out.
        server.serve_forever()


def _server_start(options: dict[str, Any], regions: list[str]) -> SandboxServer:
    try:
        server = SandboxServer(
            host=options["host"],
            port=options["port"],
            regions=regions,
            snapshot_path=options["snapshot"],
            tls=options["tls"],
            webhook_validation_delay=options["webhook_validation_delay"],
            root_region=options["root_region"],
        )
        server.start()
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    return server
