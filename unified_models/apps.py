"""App config for the unified data model."""

from django.apps import AppConfig


class UnifiedModelsConfig(AppConfig):
    name = "unified_models"
    verbose_name = "Unified accounting model"
