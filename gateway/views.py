"""Health endpoints for orchestrators and load balancers, and the answer for unknown API paths."""

from __future__ import annotations

from typing import Any, NoReturn

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.api.problems import PROBLEM_CONTENT_TYPE, problem_body
from gateway.health import NOT_CONFIGURED, readiness

_CHECKS = inline_serializer(
    "HealthStatus",
    {"status": serializers.CharField(), "checks": serializers.DictField(child=serializers.CharField(), required=False)},
)


class HealthzView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes: list[type] = []

    @extend_schema(operation_id="healthz", responses=_CHECKS, tags=["health"], auth=[])
    def get(self, request: Request) -> Response:
        """The process is alive (no dependencies checked)."""
        return Response({"status": "ok"})


class ReadyzView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    throttle_classes: list[type] = []

    @extend_schema(operation_id="readyz", responses={200: _CHECKS}, tags=["health"], auth=[])
    def get(self, request: Request) -> Response:
        """Ready to serve: database and broker reachable (and Redis, when configured)."""
        checks = readiness()
        down = [name for name, state in checks.items() if state not in ("ok", NOT_CONFIGURED)]
        if not down:
            return Response({"status": "ready", "checks": checks})
        body = problem_body(
            status_code=503,
            code="not_ready",
            title="Not ready",
            detail="Not ready: " + "; ".join(checks[name] for name in down) + ".",
            instance=request.path,
            checks=checks,
        )
        return Response(body, status=503, content_type=PROBLEM_CONTENT_TYPE)


@extend_schema(exclude=True)
class UnknownApiPathView(APIView):
    """Any method on a path under /api/ that names nothing: 401 problem without a valid key, else 404 problem.

    A DRF view (so no CSRF page for POST, PUT and DELETE): the caller authenticates first, like on every real
    endpoint, so unknown paths reveal nothing to callers without a key.
    """

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options", "trace"]

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> NoReturn:
        raise exceptions.NotFound(f"No resource at {request.path}.")

    get = post = put = patch = delete = head = options = trace = _not_found
