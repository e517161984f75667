"""Extra test-only routes (an endpoint that crashes, one that validates) on top of the real URLconf."""

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.urls import urlpatterns as real_urlpatterns


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


urlpatterns = [
    path("api/v1/_test/boom", _Boom.as_view()),
    path("api/v1/_test/validate", _Validate.as_view()),
    *real_urlpatterns,
]
