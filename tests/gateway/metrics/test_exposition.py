"""gateway/metrics/exposition.py: the bearer-token check (never without a configured token) and the text an
exporter serves for this process's instruments."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.metrics import exposition, instruments


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("Bearer s3cret-token", True),
        ("bearer s3cret-token", True),  # the scheme is case-insensitive
        ("Bearer  s3cret-token ", True),
        ("Bearer s3cret-token2", False),
        ("Basic s3cret-token", False),
        ("s3cret-token", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_configured_bearer_token_opens_the_metrics(settings: Any, header: str | None, allowed: bool) -> None:
    settings.LEDGERBRIDGE_METRICS_TOKEN = "s3cret-token"
    assert exposition.metrics_authorised(header) is allowed


def test_without_a_configured_token_nothing_opens_the_metrics(settings: Any) -> None:
    settings.LEDGERBRIDGE_METRICS_TOKEN = ""
    assert exposition.metrics_token() == ""
    assert exposition.metrics_authorised("Bearer ") is False and exposition.metrics_authorised("Bearer x") is False


def test_the_text_holds_this_process_instruments_in_the_classic_format() -> None:
    instruments.celery_task_observe(
        task="h5.exposition_probe", queue="maintenance", outcome="succeeded", duration_seconds=0.25
    )
    text = exposition.metrics_text(collectors=False).decode()
    assert exposition.CONTENT_TYPE.startswith("text/plain; version=0.0.4")
    assert "# TYPE ledgerbridge_celery_tasks_total counter" in text
    assert 'ledgerbridge_celery_tasks_total{outcome="succeeded",queue="maintenance",task="h5.exposition_probe"}' in text
