"""The gateway's telemetry sink: vendor-call events of connectors.base.telemetry become Prometheus metrics."""

from __future__ import annotations

from connectors.base.telemetry import BudgetRefusal, VendorCall
from gateway.metrics.instruments import vendor_budget_exhausted_observe, vendor_call_observe


class PrometheusTelemetrySink:
    """Registered once at start (GatewayConfig.ready)."""

    def vendor_call(self, event: VendorCall) -> None:
        vendor_call_observe(
            connector=event.connector,
            endpoint=event.endpoint,
            method=event.method,
            status=event.status,
            duration_seconds=event.duration_seconds,
            throttle=event.throttle,
        )

    def budget_refusal(self, event: BudgetRefusal) -> None:
        vendor_budget_exhausted_observe(connector=event.connector, window=event.window)


SINK = PrometheusTelemetrySink()
