"""Logging helpers: every line carries the request id, no line carries a secret, no value can forge a line.

`RedactSecretsFilter` goes on every handler the project configures (Django's LOGGING, Celery workers, which use
it too, and gunicorn through `GunicornLogger`): control characters in logged values are escaped and bearer-like
values (connect-link tokens, OAuth codes and states, tokens, API keys, secrets) are replaced by `***`.

`LOG_FORMAT=json` swaps the plain formatter for `JsonLogFormatter`: one JSON object per line with time, level,
logger, message, request id and, where known, workspace, connection and task ids (gateway/request_context.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from gateway.request_context import LOG_CONTEXT_FIELDS, current_request_id, log_context

REDACTED = "***"

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Connect-link URLs carry a bearer secret: /connect/<token> (the flow's fixed paths are kept).
    (re.compile(r"(/connect/)(?!callback\b|done\b|divisions/)[^/\s?#\"']+"), r"\1<token>"),
    # OAuth and token parameters in query strings and form bodies.
    (
        re.compile(
            r"(?i)\b(code|state|token|access_token|refresh_token|id_token|client_secret|password|secret|key"
            r"|api_key|signature)=[^&\s\"']+"
        ),
        rf"\1={REDACTED}",
    ),
    # The same names as JSON members.
    (
        re.compile(r'(?i)("(?:access_token|refresh_token|id_token|client_secret|code|state|key|secret)"\s*:\s*")[^"]*'),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=!-]+"), rf"\1 {REDACTED}"),
    # Ledgerbridge API keys: lb_<prefix>.<secret>; the prefix is public, the secret never.
    (re.compile(r"\b(lb_[A-Za-z0-9]+)\.[A-Za-z0-9_-]+"), rf"\1.{REDACTED}"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def redact(text: str) -> str:
    """`text` with every bearer-like value replaced by ***."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def escape_controls(text: str) -> str:
    """Control characters as visible escapes (`\\n`, `\\x1b`): a logged value can never start a new line."""
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def safe_value(value: Any) -> Any:
    if isinstance(value, str):
        return escape_controls(redact(value))
    if isinstance(value, bytes):
        return escape_controls(redact(value.decode("utf-8", "backslashreplace")))
    return value


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record so formatters can print it, and the log context's ids that are known."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        for key, value in log_context().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonLogFormatter(JsonFormatter):
    """One JSON object per line: time (UTC, ISO-8601), level, logger, message, request_id and the context's ids.

    Runs after RedactSecretsFilter; fields passed with `extra=` and tracebacks are redacted here as well, so no
    value reaches the line unredacted.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_default=str,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def formatException(self, ei: Any) -> str:  # type: ignore[override]
        return redact(logging.Formatter().formatException(ei))

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        if log_data.get("request_id") == "-":
            del log_data["request_id"]
        for key in list(log_data):
            value = log_data[key]
            if isinstance(value, str):
                log_data[key] = redact(value)
            elif not isinstance(value, int | float | bool | type(None)) and key not in LOG_CONTEXT_FIELDS:
                log_data[key] = redact(json.dumps(value, default=str))


class RedactSecretsFilter(logging.Filter):
    """Escapes control characters in every logged value and redacts secrets from the message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            if isinstance(record.args, dict):
                record.args = {key: safe_value(value) for key, value in record.args.items()}
            else:
                record.args = tuple(safe_value(value) for value in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


try:  # gunicorn is only there where the web server runs
    from gunicorn.glogging import Logger as _GunicornBaseLogger
except ImportError:  # pragma: no cover
    _GunicornBaseLogger = object  # type: ignore[assignment,misc]


class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc,valid-type]
    """gunicorn's logger with the same redaction: its error log (bad request lines) and, if enabled, access log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        as_json = os.environ.get("LOG_FORMAT", "").lower() == "json"
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactSecretsFilter())
            for handler in log.handlers:
                handler.addFilter(RedactSecretsFilter())
                if as_json:  # the same lines as the application's (LOG_FORMAT, gateway/settings/base.py)
                    handler.addFilter(RequestIdFilter())
                    handler.setFormatter(JsonLogFormatter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return {name: safe_value(value) for name, value in super().atoms(resp, req, environ, request_time).items()}
