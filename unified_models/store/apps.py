"""App config for the local store of synced records (its own app: its own tables and migrations)."""

from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "unified_models.store"
    label = "store"
    verbose_name = "Local store of synced records"
    default_auto_field = "django.db.models.BigAutoField"
