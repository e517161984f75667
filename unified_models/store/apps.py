"""App config for the local store of synced records (its own app: its own tables and migrations)."""

from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "unified_models.store"
    label = "store"
    verbose_name = "Local store of synced records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants.signals import connection_disconnecting, connection_lifecycle
        from unified_models.store.receivers import connection_inbound_subscribe, connection_inbound_unsubscribe

        connection_lifecycle.connect(connection_inbound_subscribe, dispatch_uid="store.inbound_subscribe")
        connection_disconnecting.connect(connection_inbound_unsubscribe, dispatch_uid="store.inbound_unsubscribe")
