"""App config for the gateway itself (worker heartbeats, shared API plumbing, metrics)."""

from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self) -> None:
        from connectors.base.telemetry import telemetry_register
        from connectors.registry import registered_connectors
        from gateway.api.idempotency import idempotency_problem
        from gateway.api.problems import register_problems
        from gateway.idempotency import IdempotencyKeyInFlight, IdempotencyKeyInvalid, IdempotencyKeyReused
        from gateway.metrics.instruments import counters_initialise
        from gateway.metrics.signals import connection_lifecycle_count
        from gateway.metrics.vendor import SINK
        from tenants.signals import connection_lifecycle

        # Vendor calls are counted from the shared HTTP client's telemetry hook (connectors.base cannot import us).
        telemetry_register(SINK)
        # Idempotency refusals, from the HTTP decorator or a service (a mutation's key), are one set of problems.
        register_problems((IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyKeyInFlight), idempotency_problem)
        connection_lifecycle.connect(connection_lifecycle_count, dispatch_uid="metrics-connection-status")
        counters_initialise(connector.info.id for connector in registered_connectors())
        self._scrape_sources_register()

    @staticmethod
    def _scrape_sources_register() -> None:
        """The sync engine's and outbound webhooks' scrape-time gauges, when those apps are installed."""
        from django.apps import apps

        from gateway.metrics.collectors import scrape_source_register

        if apps.is_installed("unified_models.store"):
            from gateway.metrics.sources import sync_gauges

            scrape_source_register("sync", sync_gauges)
        if apps.is_installed("events"):
            from gateway.metrics.sources import delivery_gauges

            scrape_source_register("deliveries", delivery_gauges)
