"""manage.py create_api_key --workspace acme --name "billing backend": prints the key once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Workspace
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a workspace and print it (it is stored hashed and cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'production backend'.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug '{options['workspace']}'.")
        created = api_key_create(workspace=workspace, name=options["name"])
        self.stderr.write(f"Created key {created.api_key.prefix} for {workspace.slug}. Store it now:")
        self.stdout.write(created.secret)
