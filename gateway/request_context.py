"""The current request's id, readable from anywhere in the process (logs, vendor call logs, tasks)."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    return request_id_var.get()


# The prefix of the API key the current request authenticated with ("" outside an authenticated API request).
api_key_prefix_var: ContextVar[str] = ContextVar("api_key_prefix", default="")


def current_api_key_prefix() -> str:
    return api_key_prefix_var.get()
