"""manage.py revoke_api_key lb_XXXXXXXXXXXX: revoke a key by its prefix."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import ApiKey
from tenants.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = ApiKey.objects.filter(prefix=options["prefix"]).first()
        if api_key is None:
            raise CommandError(f"No API key with prefix '{options['prefix']}'.")
        api_key_revoke(api_key=api_key)
        self.stdout.write(f"Revoked {api_key.prefix}.")
