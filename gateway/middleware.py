"""Request-id middleware: accept a caller's X-Request-Id or generate one, echo it, log the request."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gateway.after_response import deferring
from gateway.logging import escape_controls, redact
from gateway.request_context import api_key_prefix_var, log_context_scope, request_id_var

access_log = logging.getLogger("ledgerbridge.access")

# Accept ids that are safe to echo into headers and logs; anything else is replaced, not trusted.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
REQUEST_ID_HEADER = "X-Request-Id"


def loggable_path(path: str) -> str:
    """The path as it may be logged: connect-link tokens redacted, control characters escaped (no forged lines)."""
    return escape_controls(redact(path))


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        key_token = api_key_prefix_var.set("")  # set by the API key authentication, never left from another request
        started = time.perf_counter()
        try:
            # The access line too carries the workspace and connection the request named (LOG_FORMAT=json).
            with log_context_scope(), deferring(request.method or "") as take_deferred:
                response = self.get_response(request)
                deferred = take_deferred()
                if deferred is not None:
                    # Run by the response's close(), after the server sent the body (gateway/after_response.py).
                    response._resource_closers.append(deferred)
                response[REQUEST_ID_HEADER] = request_id
                if access_log.isEnabledFor(logging.INFO):  # the path is redacted only for a line that is written
                    access_log.info(
                        "%s %s %s %.1fms",
                        request.method,
                        loggable_path(request.path),
                        response.status_code,
                        (time.perf_counter() - started) * 1000,
                    )
            return response
        finally:
            api_key_prefix_var.reset(key_token)
            request_id_var.reset(token)
