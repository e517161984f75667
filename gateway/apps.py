"""App config for the gateway itself (worker heartbeats, shared API plumbing)."""

from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"
