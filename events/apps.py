"""App config for outbound events and webhooks."""

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Events and webhooks"

    def ready(self) -> None:
        from events import receivers  # noqa: F401  (turns tenants' connection signals into events)
