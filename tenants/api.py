"""The base of every workspace API view: the caller is the workspace of its API key (tenants.authentication).

It lives with the workspace it scopes to; gateway.api keeps the plumbing every view shares (problems, paging,
parsers, idempotency) and knows nothing of tenants.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.problems import Problem
from tenants.models import Workspace


class WorkspaceAPIView(GenericAPIView):
    """An API view whose caller is a workspace; selectors take `self.workspace` to scope every query."""

    # Query parameters that may be repeated (`?include=a&include=b`); any other given twice is ambiguous input.
    repeatable_query_params: frozenset[str] = frozenset({"include"})

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if len(values) > 1 and name not in self.repeatable_query_params:
                raise Problem(
                    status_code=400,
                    code="validation_error",
                    title="Validation failed",
                    detail=f"The query parameter {name} was given {len(values)} times; give it once.",
                    errors=[{"field": name, "code": "repeated", "message": "Give this parameter once."}],
                )

    @property
    def workspace(self) -> Workspace:
        return self.request.user.workspace  # type: ignore[union-attr]

    def paginated(self, queryset: QuerySet[Any]) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
