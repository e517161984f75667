"""Logging helpers: every log line carries the request id."""

import logging

from gateway.request_context import current_request_id


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
