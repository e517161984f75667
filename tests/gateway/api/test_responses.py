"""gateway/api/responses.py: a JSON body joined from parts already encoded, sent as DRF's JSONRenderer sends one."""

from __future__ import annotations

import json

from rest_framework.renderers import JSONRenderer

from gateway.api.responses import EncodedJSONResponse, json_text


def test_members_are_joined_in_order_and_read_as_the_renderer_writes_them() -> None:
    body = {"results": [{"id": "ä", "n": 1.5}, {}], "next": None, "source": "store", "note": "a\u2028b\u2029c"}
    response = EncodedJSONResponse({name: json_text(value) for name, value in body.items()})
    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(body)  # byte for byte when the parts are compact
    assert list(json.loads(response.content)) == ["results", "next", "source", "note"]


def test_stored_text_is_kept_as_it_is() -> None:
    stored = '[{"id": "1", "total": 10.50}, {"id": "2"}]'  # as PostgreSQL writes jsonb: spaces, numbers as stored
    response = EncodedJSONResponse({"results": stored, "next": "null"}, status=200)
    assert response.content == b'{"results":[{"id": "1", "total": 10.50}, {"id": "2"}],"next":null}'
    assert json.loads(response.content)["results"][0]["total"] == 10.5
