"""The web's metrics: /metrics for Prometheus (bearer token) and the count and duration of every other request.

First in MIDDLEWARE: /metrics is answered before host validation and the HTTPS redirect (Prometheus scrapes pod IPs
over plain HTTP) and is never counted itself; every other request is timed from here, so the duration covers every
middleware, and labelled with the URL pattern that matched, never the raw path.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gateway.metrics.exposition import CONTENT_TYPE, metrics_authorised, metrics_text, metrics_token
from gateway.metrics.instruments import http_request_observe

METRICS_PATH = "/metrics"


def metrics_response(request: HttpRequest) -> HttpResponse:
    if not metrics_token():
        return HttpResponse("Not Found\n", status=404, content_type="text/plain; charset=utf-8")
    if not metrics_authorised(request.META.get("HTTP_AUTHORIZATION")):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    response = HttpResponse(metrics_text(collectors=True), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == METRICS_PATH:
            return metrics_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        http_request_observe(
            route=match.route if match is not None else None,
            method=request.method or "",
            status=response.status_code,
            duration_seconds=time.perf_counter() - started,
        )
        return response
