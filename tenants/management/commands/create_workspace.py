"""manage.py create_workspace --name "Acme Webshop" [--slug acme]"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.text import slugify

from tenants.models import Workspace
from tenants.services import workspace_create


class Command(BaseCommand):
    help = "Create a workspace (one SaaS product or environment using the gateway)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", help="URL-safe id; derived from the name when omitted.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"] or slugify(options["name"])
        if not slug:
            raise CommandError("The name gives an empty slug; pass --slug.")
        if Workspace.objects.filter(slug=slug).exists():
            raise CommandError(f"A workspace with slug '{slug}' already exists.")
        workspace = workspace_create(name=options["name"], slug=slug)
        self.stdout.write(f"Created workspace {workspace.slug} ({workspace.pk}).")
