"""The current request's id and what a log line should say about the work in hand (workspace, connection, task).

Readable from anywhere in the process (logs, vendor call logs, tasks). The log context is one dict per request or
task (`log_context_scope`); code that learns the workspace or connection adds it with `log_context_bind`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_log_context: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)

# The fields a log line may carry from the context (gateway/logging.py), all ids, never a secret.
LOG_CONTEXT_FIELDS = ("workspace_id", "connection_id", "task_id", "task_name")


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    return request_id_var.get()


# The prefix of the API key the current request authenticated with ("" outside an authenticated API request).
api_key_prefix_var: ContextVar[str] = ContextVar("api_key_prefix", default="")


def current_api_key_prefix() -> str:
    return api_key_prefix_var.get()


@contextmanager
def log_context_scope(**values: str) -> Iterator[None]:
    """A fresh log context for one request or task; what is bound inside it ends with it."""
    token = _log_context.set({key: value for key, value in values.items() if value})
    try:
        yield
    finally:
        _log_context.reset(token)


def log_context_start(**values: str) -> None:
    """A fresh log context where no `with` fits (Celery's task_prerun; task_postrun calls log_context_end)."""
    _log_context.set({key: value for key, value in values.items() if value})


def log_context_end() -> None:
    _log_context.set(None)


def log_context_bind(**values: object) -> None:
    """Add ids to the current request's or task's log context (outside one, nothing is kept)."""
    context = _log_context.get()
    if context is not None:
        context.update({key: str(value) for key, value in values.items() if key in LOG_CONTEXT_FIELDS and value})


def log_context() -> dict[str, str]:
    return dict(_log_context.get() or {})
