"""manage.py create_workspace --name "Acme Webshop" [--slug acme] [--allowed-redirect-host app.acme.com ...]"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from connectors.base.records import InvalidInput
from tenants.models import Workspace
from tenants.services import normalise_redirect_host, workspace_create, workspace_update


class Command(BaseCommand):
    help = "Create a workspace (one SaaS product or environment using the gateway)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", help="URL-safe id; derived from the name when omitted.")
        parser.add_argument(
            "--allowed-redirect-host",
            action="append",
            default=[],
            dest="allowed_redirect_hosts",
            metavar="HOST",
            help="A host a connect link may send the user back to (bare host name, e.g. app.example.com); "
            "repeat for several, or separate them with commas.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"] or slugify(options["name"])
        if not slug:
            raise CommandError("The name gives an empty slug; pass --slug.")
        # "a.io, b.io" is a list of two hosts: the spaces around the commas are the list's, not the hosts'.
        hosts = [
            host.strip() for value in options["allowed_redirect_hosts"] for host in value.split(",") if host.strip()
        ]
        try:
            # Checked before anything is written: a bad host leaves no workspace behind.
            hosts = [normalise_redirect_host(host) for host in hosts]
        except InvalidInput as exc:
            raise CommandError(f"--allowed-redirect-host: {exc.message}") from None
        if Workspace.objects.filter(slug=slug).exists():
            raise CommandError(f"A workspace with slug '{slug}' already exists.")
        with transaction.atomic():
            workspace = workspace_create(name=options["name"], slug=slug)
            if hosts:
                workspace_update(workspace=workspace, allowed_redirect_hosts=hosts)
        allowed = f"; redirect hosts: {', '.join(workspace.allowed_redirect_hosts)}" if hosts else ""
        self.stdout.write(f"Created workspace {workspace.slug} ({workspace.pk}){allowed}.")
