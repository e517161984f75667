"""Logging helpers: every line carries the request id, no line carries a secret, no value can forge a line.

`RedactSecretsFilter` goes on every handler the project configures (Django's LOGGING, Celery workers, which use
it too, and gunicorn through `GunicornLogger`): control characters in logged values are escaped and bearer-like
values (connect-link tokens, OAuth codes and states, tokens, API keys, secrets) are replaced by `***`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gateway.request_context import current_request_id

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
    """Adds `request_id` to every record so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


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
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactSecretsFilter())
            for handler in log.handlers:
                handler.addFilter(RedactSecretsFilter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        return {name: safe_value(value) for name, value in super().atoms(resp, req, environ, request_time).items()}
