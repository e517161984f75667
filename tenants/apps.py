"""App config for tenants."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


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

        from tenants.models import ApiKey, Workspace

        # A revoked key or a changed workspace is not served from this process's API key cache any more.
        for model in (ApiKey, Workspace):
            post_save.connect(_forget_cached_keys, sender=model, dispatch_uid=f"api-key-cache-{model.__name__}-save")
            post_delete.connect(
                _forget_cached_keys, sender=model, dispatch_uid=f"api-key-cache-{model.__name__}-delete"
            )


def _forget_cached_keys(sender: Any, instance: Any, **kwargs: Any) -> None:
    from tenants.models import Workspace
    from tenants.services import api_key_cache_forget

    api_key_cache_forget(workspace_id=instance.pk if isinstance(instance, Workspace) else instance.workspace_id)
