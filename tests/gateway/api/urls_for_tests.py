"""Extra test-only routes (an endpoint that crashes, one that validates) on top of the real URLconf."""

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.api.idempotency import idempotent
from gateway.api.problems import Problem
from gateway.urls import urlpatterns as real_urlpatterns

# Counts how often the idempotent test view really ran (replays must not run it).
EXECUTIONS: list[dict] = []


class _Boom(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("secret internal detail: password=hunter2")


class _Nested(serializers.Serializer):
    quantity = serializers.DecimalField(max_digits=10, decimal_places=2)


class _EchoSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    lines = _Nested(many=True)


class _Validate(APIView):
    def post(self, request: Request) -> Response:
        serializer = _EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.data)


class _IdempotentCreate(APIView):
    @idempotent
    def post(self, request: Request) -> Response:
        EXECUTIONS.append(dict(request.data))
        if request.data.get("refuse"):
            raise Problem(status_code=422, code="refused", title="Refused", detail="Refused on purpose.")
        if request.data.get("status"):
            raise Problem(status_code=int(request.data["status"]), code="busy", title="Busy", detail="Not now.")
        if request.data.get("crash"):
            raise RuntimeError("boom")
        if request.data.get("wait"):
            import time

            time.sleep(float(request.data["wait"]))
        return Response({"created": len(EXECUTIONS)}, status=201)


urlpatterns = [
    path("api/v1/_test/idempotent", _IdempotentCreate.as_view()),
    path("api/v1/_test/boom", _Boom.as_view()),
    path("api/v1/_test/validate", _Validate.as_view()),
    *real_urlpatterns,
]
