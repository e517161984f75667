"""Django app config for the Exact Online connector (management commands, admin)."""

from django.apps import AppConfig


class ExactConnectorConfig(AppConfig):
    name = "connectors.exact"
    label = "exact_connector"
    verbose_name = "Exact Online connector"
