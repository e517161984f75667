"""A WSGI app for tests/gateway/test_web_deadline.py: gunicorn with deploy/gunicorn.conf.py serving requests that
take as long as asked. `/pid` answers the serving process's id; `/sleep?seconds=N` answers after N seconds."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/sleep":
        time.sleep(float(parse_qs(environ["QUERY_STRING"])["seconds"][0]))
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
