"""App config for the unified data model."""

from django.apps import AppConfig


class UnifiedModelsConfig(AppConfig):
    name = "unified_models"
    verbose_name = "Unified accounting model"

    def ready(self) -> None:
        from unified_models import checks  # noqa: F401  (registers the write-deadline checks)
