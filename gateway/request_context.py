"""The current request's id, readable from anywhere in the process (logs, vendor call logs, tasks)."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    return request_id_var.get()
