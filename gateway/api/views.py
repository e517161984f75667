"""Base views: the authenticated workspace and pagination for every workspace API view."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from tenants.models import Workspace


class WorkspaceAPIView(GenericAPIView):
    """An API view whose caller is a workspace; selectors take `self.workspace` to scope every query."""

    @property
    def workspace(self) -> Workspace:
        return self.request.user.workspace  # type: ignore[union-attr]

    def paginated(self, queryset: QuerySet[Any]) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
