"""connectors/base/oauth2.py: token documents and token-endpoint errors read once for every vendor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.base.errors import TokenResponseLost, VendorAuthError, VendorUnavailable
from connectors.base.oauth2 import raise_for_token_server_error, token_error_from_answer, token_set_from_answer

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def read(response: httpx.Response):  # type: ignore[no-untyped-def]
    return token_set_from_answer(
        response, vendor="Acme", obtained_at=NOW, refresh_token_lifetime=timedelta(days=60), not_a_token_document="x"
    )


@pytest.mark.parametrize("expires_in", ["600", 600])
def test_a_token_document_with_expires_in_as_string_or_number(expires_in: object) -> None:
    document = {"access_token": "a", "refresh_token": "r", "expires_in": expires_in, "id_token": "i"}
    token_set, body = read(httpx.Response(200, json=document))
    assert (token_set.access_token, token_set.refresh_token, token_set.expires_in) == ("a", "r", 600)
    assert token_set.obtained_at == NOW
    assert token_set.refresh_token_lifetime == timedelta(days=60)
    assert body["id_token"] == "i"


def test_without_a_given_moment_the_tokens_are_obtained_when_the_answer_is_read() -> None:
    document = {"access_token": "a", "refresh_token": "r", "expires_in": 1800}
    before = datetime.now(tz=UTC)
    token_set, _ = token_set_from_answer(
        httpx.Response(200, json=document),
        vendor="Acme",
        refresh_token_lifetime=timedelta(days=60),
        not_a_token_document="x",
    )
    assert before <= token_set.obtained_at <= datetime.now(tz=UTC)
    assert token_set.access_token_expires_at == token_set.obtained_at + timedelta(seconds=1800)


@pytest.mark.parametrize(
    "document",
    [
        {"access_token": "a", "expires_in": 600},
        {"access_token": "a", "refresh_token": "r", "expires_in": "soon"},
        ["not", "an", "object"],
    ],
)
def test_anything_else_is_a_lost_answer(document: object) -> None:
    with pytest.raises(TokenResponseLost, match=r"^x$"):
        read(httpx.Response(200, json=document))
    with pytest.raises(TokenResponseLost):
        read(httpx.Response(200, text="<html>"))


def test_a_token_that_is_not_a_bearer_token_is_refused() -> None:
    document = {"access_token": "a", "refresh_token": "r", "expires_in": 600, "token_type": "mac"}
    with pytest.raises(VendorAuthError, match="Acme issued a token that is not a bearer token"):
        read(httpx.Response(200, json=document))


def test_error_answers_are_read_with_or_without_a_json_object() -> None:
    answer = token_error_from_answer(
        httpx.Response(400, json={"error": "invalid_grant", "error_description": "gone"}, headers={"Reason": "r"}),
        vendor="Acme",
    )
    assert (answer.status, answer.error, answer.description, answer.headers["Reason"]) == (
        400,
        "invalid_grant",
        "gone",
        "r",
    )
    for response in (httpx.Response(400, text="nope"), httpx.Response(400, json=["invalid_grant"])):
        answer = token_error_from_answer(response, vendor="Acme")
        assert (answer.error, answer.description) == ("", "")


def test_a_server_error_is_lost_on_refresh_and_unavailable_on_exchange() -> None:
    answer = token_error_from_answer(httpx.Response(502, text="bad gateway"), vendor="Acme")
    with pytest.raises(TokenResponseLost, match="Acme's token endpoint failed with HTTP 502"):
        raise_for_token_server_error(answer, vendor="Acme", refreshing=True)
    with pytest.raises(VendorUnavailable) as caught:
        raise_for_token_server_error(answer, vendor="Acme", refreshing=False)
    assert caught.value.status == 502
    client_error = token_error_from_answer(httpx.Response(400, json={"error": "invalid_client"}), vendor="Acme")
    raise_for_token_server_error(client_error, vendor="Acme", refreshing=True)  # the vendor's own rules decide
