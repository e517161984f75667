"""gateway/logging.py: secrets redacted, control characters escaped, JSON lines with the request and task context
(the real run of every process, searched for each token it issued, is tests/gateway/test_logs.py)."""

from __future__ import annotations

import json
import logging
import re

from gateway.logging import RedactSecretsFilter, escape_controls, redact


def test_redact_and_escape() -> None:
    line = (
        "GET /connect/N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk/continue?code=abc&state=xyz "
        'Authorization: Bearer AAEAAsecret {"refresh_token": "Gcp7!IAAA"} lb_Xq7H2mPzK9aB.Zk3secretpart'
    )
    cleaned = redact(line)
    link_token = "N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk"
    for secret in (link_token, "abc", "xyz", "AAEAAsecret", "Gcp7!IAAA", "Zk3secret"):
        assert secret not in cleaned
    assert "/connect/<token>/continue" in cleaned and "lb_Xq7H2mPzK9aB.***" in cleaned
    assert escape_controls("/api/v1/x\nforged\r\x1b[31m") == "/api/v1/x\\nforged\\r\\x1b[31m"


def test_the_filter_cleans_arguments_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "Not Found: %s", ("/connect/tok3n\nEVIL",), None)
    try:
        raise ValueError("client_secret=s3cr3t")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "Not Found: /connect/<token>\\nEVIL"
    assert "s3cr3t" not in record.exc_text and "client_secret=***" in record.exc_text


def test_json_lines_have_the_context_and_nothing_unredacted() -> None:
    from gateway.logging import JsonLogFormatter, RequestIdFilter
    from gateway.request_context import log_context_bind, log_context_scope, request_id_var

    logger = logging.getLogger("ledgerbridge.test.json")
    token = request_id_var.set("req-42")
    try:
        with log_context_scope(task_id="t-1"):
            log_context_bind(workspace_id="w-1", connection_id="c-1", secret="never-bound")
            record = logger.makeRecord(
                logger.name, logging.WARNING, __file__, 1, "refresh failed for %s", ("refresh_token=Gcp7!IAAA",), None,
                extra={"url": "/connect/N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk", "line": "a\nb"},
            )  # fmt: skip
            try:
                raise ValueError("Authorization: Bearer AAEAAs3cret")
            except ValueError:
                import sys

                record.exc_info = sys.exc_info()
            RequestIdFilter().filter(record)
            RedactSecretsFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonLogFormatter().format(record)
    assert "\n" not in line.strip()  # one object, one line
    data = json.loads(line)
    assert data["level"] == "WARNING" and data["logger"] == "ledgerbridge.test.json"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["time"])
    assert data["message"] == "refresh failed for refresh_token=***"
    assert (data["request_id"], data["workspace_id"], data["connection_id"], data["task_id"]) == (
        "req-42", "w-1", "c-1", "t-1",
    )  # fmt: skip
    assert "secret" not in data and data["url"] == "/connect/<token>"
    for secret in ("Gcp7!IAAA", "AAEAAs3cret", "N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk"):
        assert secret not in line
    assert "Bearer ***" in data["exc_info"]


def test_no_request_id_outside_a_request_and_no_context_after_one() -> None:
    from gateway.logging import JsonLogFormatter, RequestIdFilter

    record = logging.getLogger("x").makeRecord("x", logging.INFO, __file__, 1, "beat tick", (), None)
    RequestIdFilter().filter(record)
    data = json.loads(JsonLogFormatter().format(record))
    assert data["message"] == "beat tick" and not {"request_id", "workspace_id", "connection_id", "task_id"} & set(data)
