"""App config for tenants."""

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Workspaces and tenants"

    def ready(self) -> None:
        from gateway.api.problems import register_problems
        from tenants import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from tenants.credentials import checks  # noqa: F401  (registers the token-timing system checks)
        from tenants.problems import PROBLEMS

        # The services' refusals (TenantExists, LastActiveApiKey) raised in any view become problems.
        for exception_types, to_problem in PROBLEMS:
            register_problems(exception_types, to_problem)
