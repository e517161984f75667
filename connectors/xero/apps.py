"""Django app config for the Xero connector (management commands such as xero_sandbox)."""

from django.apps import AppConfig


class XeroConnectorConfig(AppConfig):
    name = "connectors.xero"
    label = "xero_connector"
    verbose_name = "Xero connector"
