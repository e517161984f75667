"""Cursor pagination, the default for every list: `cursor` and `page_size` in, `results` and `next` out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions, pagination
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.problems import Problem


def parse_page_size(request: Request, default: int) -> int:
    """`page_size` must be an integer from 1 to API_MAX_PAGE_SIZE; anything else is a 400 naming the field."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return default
    maximum = settings.API_MAX_PAGE_SIZE
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise Problem(
            status_code=400,
            code="validation_error",
            title="Validation failed",
            detail=f"page_size must be an integer from 1 to {maximum}.",
            errors=[{"field": "page_size", "code": "invalid", "message": f"Must be 1 to {maximum}."}],
        )
    return int(raw)


def invalid_cursor() -> Problem:
    return Problem(
        status_code=400,
        code="invalid_cursor",
        title="Invalid cursor",
        detail="The cursor is not valid; start again from the first page.",
        errors=[{"field": "cursor", "code": "invalid", "message": "Not a cursor issued by this API."}],
    )


def _moment(text: str) -> Any:
    try:
        return parse_datetime(text)
    except ValueError:
        return None


class CursorPagination(pagination.CursorPagination):
    """Stable keyset order (newest first, id as tie-breaker) so pages never skip or repeat rows."""

    page_size_query_param = "page_size"
    ordering = ("-created_at", "-id")

    def get_page_size(self, request: Request) -> int:
        return parse_page_size(request, self.page_size)

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise invalid_cursor() from exc
        # The position goes into a query on the first ordering field (created_at): a forged one must not reach it.
        if cursor is not None and cursor.position is not None and _moment(cursor.position) is None:
            raise invalid_cursor()
        return cursor

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "URL of the next page, or null on the last page.",
                    # Lets drf-spectacular wrap an operation's item example into a page (a last page).
                    "example": None,
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "cursor",
                "required": False,
                "in": "query",
                "description": "Opaque cursor from a previous page's `next`.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "required": False,
                "in": "query",
                "description": f"Records per page, 1 to {settings.API_MAX_PAGE_SIZE} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.API_MAX_PAGE_SIZE},
            },
        ]
