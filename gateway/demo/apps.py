"""App config of the demo (its only job is the `demo` management command)."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "gateway.demo"
    label = "demo"
    verbose_name = "Demo"
