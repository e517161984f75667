"""manage.py demo: migrate, create a demo workspace and API key, start a Celery worker and the web server."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from tenants.models import ApiKey, Workspace
from tenants.services import api_key_create, api_key_revoke, workspace_create

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Run the gateway with demo data: prints an API key, a curl line and an admin login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Set up the demo data and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first() or workspace_create(
            name="Demo Webshop", slug=DEMO_SLUG
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

        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Ledgerbridge demo",
                    f"  workspace : {workspace.name} ({workspace.slug})",
                    f"  API key   : {created.secret}",
                    f"  try it    : curl -s -H 'Authorization: Bearer {created.secret}' {base}/api/v1/workspace",
                    f"  API docs  : {base}/api/docs/",
                    f"  admin     : {base}/admin/  (admin / {admin_password})",
                    "",
                ]
            )
        )
        if options["no_serve"]:
            return
        self._serve(options["host"], options["port"])

    def _serve(self, host: str, port: int) -> None:
        env = {**os.environ}
        env.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gateway",
                "worker",
                "--beat",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "2",
                "-Q",
                "default,vendor,sync,webhooks,maintenance",
            ],
            env=env,
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
