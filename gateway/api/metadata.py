"""What OPTIONS answers on API views: names, media types and methods, no serializer introspection."""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request


class ApiMetadata(BaseMetadata):
    """DRF's SimpleMetadata walks the view's serializer, which views that build theirs per request lack (500)."""

    def determine_metadata(self, request: Request, view: Any) -> dict[str, Any]:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "allowed_methods": list(view.allowed_methods),
        }
