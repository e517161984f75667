"""A JSON response whose body is assembled from parts already encoded as JSON text (rows the database stores in
the API's shape), so a page of them is joined instead of decoded and encoded again."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse


def json_text(value: Any) -> str:
    """One value as JSON text, the way DRF's JSONRenderer writes it (compact, UTF-8 as is)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class EncodedJSONResponse(HttpResponse):
    """`application/json` from members given as JSON text: {"name": <text>, …} in the order given.

    What DRF's JSONRenderer would send for the same object, up to insignificant whitespace inside the parts:
    the same content type, and U+2028/U+2029 escaped as it escapes them (JSON allows them raw, JavaScript did not).
    """

    def __init__(self, members: dict[str, str], *, status: int = 200) -> None:
        body = "{" + ",".join(f"{json_text(name)}:{text}" for name, text in members.items()) + "}"
        if "\u2028" in body or "\u2029" in body:
            body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        super().__init__(body.encode(), status=status, content_type="application/json")
