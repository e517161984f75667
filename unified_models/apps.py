"""App config for the unified data model."""

from django.apps import AppConfig


class UnifiedModelsConfig(AppConfig):
    name = "unified_models"
    verbose_name = "Unified accounting model"

    def ready(self) -> None:
        from gateway.api.problems import register_problems
        from unified_models import checks  # noqa: F401  (registers the write-deadline checks)
        from unified_models.errors import TYPED_ERRORS, problem_for_view

        # Typed connector, mapping and mutation errors raised in any view become their problem details.
        register_problems(TYPED_ERRORS, problem_for_view)
