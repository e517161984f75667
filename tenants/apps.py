"""App config for tenants."""

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Workspaces and tenants"

    def ready(self) -> None:
        from tenants import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from tenants.credentials import checks  # noqa: F401  (registers the token-timing system checks)
