"""What an exporter answers: the bearer-token check and the Prometheus text of this process tree's metrics."""

from __future__ import annotations

import hmac

from django.conf import settings
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from gateway.metrics import instruments, multiprocess

# The classic text format every Prometheus reads (our names and labels are plain ASCII: nothing needs 1.0.0's escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def metrics_token() -> str:
    return str(getattr(settings, "LEDGERBRIDGE_METRICS_TOKEN", "") or "")


def metrics_authorised(authorization: str | None) -> bool:
    """Whether an Authorization header carries the metrics token (constant-time; never with the setting empty)."""
    token = metrics_token()
    if not token or not authorization:
        return False
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def registry_for(*, collectors: bool) -> CollectorRegistry:
    """This process tree's counters and histograms, plus the scrape-time collectors when `collectors` (web)."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess.directory()
    if multiprocess.enabled() and path is not None:
        registry.register(multiprocess.ArchivingMultiProcessCollector(path))  # type: ignore[arg-type]
    else:
        registry.register(_InstrumentsCollector())  # type: ignore[arg-type]
    if collectors:
        from gateway.metrics.collectors import ScrapeTimeCollector

        registry.register(ScrapeTimeCollector())  # type: ignore[arg-type]
    return registry


class _InstrumentsCollector:
    """This process's own instruments (single-process mode)."""

    def collect(self):  # type: ignore[no-untyped-def]
        yield from instruments.REGISTRY.collect()


def metrics_text(*, collectors: bool) -> bytes:
    return generate_latest(registry_for(collectors=collectors))
