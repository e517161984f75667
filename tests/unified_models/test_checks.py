"""unified_models/checks.py: the write deadlines (web timeout, vendor timeouts, settle time, broker visibility and
task limits) fit together, or a system check says which does not."""

from __future__ import annotations

from django.conf import settings

from unified_models.checks import check_write_deadlines


def test_the_defaults_pass_the_deadline_check() -> None:
    assert check_write_deadlines() == []
    assert settings.EXACT_HTTP_TIMEOUT * 4 <= settings.LEDGERBRIDGE_WEB_TIMEOUT


def test_the_check_refuses_deadlines_that_do_not_fit(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_WEB_TIMEOUT = 30
    settings.EXACT_HTTP_TIMEOUT = 30.0  # the setup of the report: the vendor timeout equal to the server's
    settings.EXACT_TOKEN_TIMEOUT = 60.0
    settings.LEDGERBRIDGE_MUTATION_SETTLE_SECONDS = 5.0
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    settings.CELERY_TASK_TIME_LIMIT = 7200
    assert {error.id for error in check_write_deadlines()} == {
        "unified_models.E001",
        "unified_models.E002",
        "unified_models.E003",
        "unified_models.E004",
    }
