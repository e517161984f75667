"""OAuth 2.0 against the sandbox over HTTP: consent, codes, client authentication, rotation, grace, revocation."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connectors.xero.sandbox.control_client import SandboxControl
from connectors.xero.sandbox.jwt import decode_claims
from tests.connectors.xero.sandbox.conftest import (
    REDIRECT_URI,
    SCOPES,
    Tenant,
    authorize,
    exchange_code,
    refresh,
    token_request,
)


def _authorize_params(tenant: Tenant, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": tenant.app["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES,
        "state": "s1",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v != ""}


@pytest.mark.parametrize(
    ("overrides", "title"),
    [
        ({"client_id": "NOSUCHCLIENT"}, "unauthorized_client"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"scope": "accounting.everything"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_bad_authorize_requests_show_an_error_page_not_a_redirect(
    tenant: Tenant, http: httpx.Client, overrides: dict[str, str], title: str
) -> None:
    response = http.get(tenant.server.authorize_url, params=_authorize_params(tenant, **overrides))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert title in response.text


def test_consent_page_then_approve_connects_the_ticked_organisations(
    control: SandboxControl, server, http: httpx.Client
) -> None:
    from tests.connectors.xero.sandbox.conftest import make_tenant

    tenant = make_tenant(control, server, organisations=("Org A", "Org B"))
    control.clear_auto_consent(tenant.app["client_id"])
    page = http.get(server.authorize_url, params=_authorize_params(tenant))
    assert page.status_code == 200
    assert "Org A" in page.text and 'name="tenant"' in page.text
    form = {
        **_authorize_params(tenant),
        "decision": "approve",
        "user_id": tenant.user["user_id"],
        "tenant": tenant.organisations[1]["tenant_id"],
    }
    approved = http.post(server.authorize_url, data=form)
    assert approved.status_code == 302
    query = parse_qs(urlsplit(approved.headers["Location"]).query)
    assert query["state"] == ["s1"]
    tokens = exchange_code(http, tenant, query["code"][0]).json()
    connections = http.get(
        f"{server.root_url}/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert [c["tenantName"] for c in connections] == ["Org B"]
    declined = http.post(server.authorize_url, data={**form, "decision": "decline"})
    assert parse_qs(urlsplit(declined.headers["Location"]).query) == {"error": ["access_denied"], "state": ["s1"]}


def test_token_response_has_exactly_xeros_keys_and_echoes_the_scopes(tenant: Tenant, http: httpx.Client) -> None:
    response = exchange_code(http, tenant, authorize(http, tenant))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    # xero-python's update_token(**token) accepts only these keys (NOTES.md "OAuth").
    assert list(body) == ["id_token", "access_token", "expires_in", "token_type", "refresh_token", "scope"]
    assert body["expires_in"] == 1800 and isinstance(body["expires_in"], int)
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == set(SCOPES.split())
    claims = decode_claims(body["access_token"])
    assert claims["client_id"] == tenant.app["client_id"]
    assert claims["xero_userid"] == tenant.user["user_id"]
    assert claims["exp"] - claims["nbf"] == 1800


def test_no_refresh_token_without_offline_access(tenant: Tenant, http: httpx.Client) -> None:
    code = authorize(http, tenant, scope="openid accounting.contacts.read")
    body = exchange_code(http, tenant, code).json()
    assert "refresh_token" not in body
    assert body["scope"] == "openid accounting.contacts.read"


def test_id_token_verifies_against_the_discovery_documents_jwks(tenant: Tenant, http: httpx.Client) -> None:
    body = exchange_code(http, tenant, authorize(http, tenant, nonce="n-1")).json()
    discovery = http.get(f"{tenant.server.root_url}/.well-known/openid-configuration").json()
    assert discovery["token_endpoint"] == tenant.server.token_url
    assert discovery["authorization_endpoint"] == tenant.server.authorize_url
    jwk = http.get(discovery["jwks_uri"]).json()["keys"][0]

    def number(text: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")

    key = rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()
    header, payload, signature = body["id_token"].split(".")
    key.verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        f"{header}.{payload}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    claims = decode_claims(body["id_token"])
    assert claims["aud"] == tenant.app["client_id"]
    assert claims["iss"] == discovery["issuer"]
    assert claims["email"] == "jo@example.com"
    assert claims["nonce"] == "n-1"
    assert claims["exp"] - claims["iat"] == 300


def test_client_authentication_by_basic_or_in_the_form(tenant: Tenant, http: httpx.Client) -> None:
    basic = exchange_code(http, tenant, authorize(http, tenant))
    assert basic.status_code == 200
    post = exchange_code(http, tenant, authorize(http, tenant), basic=False)
    assert post.status_code == 200
    wrong = http.post(
        tenant.server.token_url,
        data={"grant_type": "authorization_code", "code": authorize(http, tenant), "redirect_uri": REDIRECT_URI},
        auth=(tenant.app["client_id"], "not-the-secret"),
    )
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_client"})
    mixed = http.post(
        tenant.server.token_url,
        auth=(tenant.app["client_id"], tenant.app["client_secret"]),
        data={
            "grant_type": "refresh_token",
            "refresh_token": basic.json()["refresh_token"],
            "client_secret": tenant.app["client_secret"],
        },
    )
    assert mixed.json() == {"error": "invalid_client"}
    unsupported = token_request(http, tenant, grant_type="password")
    assert unsupported.json() == {"error": "unsupported_grant_type"}


def test_codes_are_single_use_expire_after_five_minutes_and_bind_the_redirect_uri(
    tenant: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    code = authorize(http, tenant)
    assert exchange_code(http, tenant, code).status_code == 200
    assert exchange_code(http, tenant, code).json() == {"error": "invalid_grant"}
    late = authorize(http, tenant)
    control.advance_clock(5 * 60 + 1)
    assert exchange_code(http, tenant, late).json() == {"error": "invalid_grant"}
    other = authorize(http, tenant)
    mismatch = token_request(
        http, tenant, grant_type="authorization_code", code=other, redirect_uri="https://app.example.test/other"
    )
    assert (mismatch.status_code, mismatch.json()) == (400, {"error": "invalid_grant"})


def test_access_tokens_expire_after_30_minutes(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    assert http.get(connected.api("Organisation"), headers=connected.headers()).status_code == 200
    control.advance_clock(30 * 60)
    expired = http.get(connected.api("Organisation"), headers=connected.headers())
    assert expired.status_code == 401
    assert re.fullmatch(r"TokenExpired: token expired at \d\d/\d\d/\d{4} \d\d:\d\d:\d\d", expired.json()["Detail"])
    assert expired.json()["Title"] == "Unauthorized"


def test_refresh_rotates_both_tokens_and_sends_scope_optionally(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    first = refresh(http, connected, scope=SCOPES, basic=False)
    assert first.status_code == 200
    new = first.json()
    assert new["refresh_token"] != connected.tokens["refresh_token"]
    assert new["access_token"] != connected.tokens["access_token"]
    second = refresh(http, connected, refresh_token=new["refresh_token"])
    assert second.status_code == 200
    assert control.counters()["token_refreshes"] == 2


def test_previous_refresh_token_works_for_a_30_minute_grace_then_invalid_grant(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    old = connected.tokens["refresh_token"]
    lost = refresh(http, connected).json()  # the answer the client never saw
    control.advance_clock(29 * 60)
    retry = refresh(http, connected, refresh_token=old)
    assert retry.status_code == 200
    # Sandbox choice: the pair issued from the old token before (the lost answer) dies, one chain lives on.
    assert refresh(http, connected, refresh_token=lost["refresh_token"]).json() == {"error": "invalid_grant"}
    assert http.get(connected.api("Organisation"), headers=connected.headers(lost["access_token"])).status_code == 401
    assert refresh(http, connected, refresh_token=retry.json()["refresh_token"]).status_code == 200
    control.advance_clock(2 * 60)
    assert refresh(http, connected, refresh_token=old).json() == {"error": "invalid_grant"}
    assert control.counters()["token_grace_reuses"] == 1


def test_an_unused_refresh_token_expires_after_60_days(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.advance_clock(59 * 86400)
    fresh = refresh(http, connected)
    assert fresh.status_code == 200
    control.advance_clock(60 * 86400 + 1)
    assert refresh(http, connected, refresh_token=fresh.json()["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revocation_kills_the_tokens_and_removes_the_users_connections(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    response = http.post(
        connected.server.revocation_url,
        data={"token": connected.tokens["refresh_token"]},
        auth=(connected.app["client_id"], connected.app["client_secret"]),
    )
    assert (response.status_code, response.content) == (200, b"")
    assert refresh(http, connected).json() == {"error": "invalid_grant"}
    assert http.get(connected.api("Organisation"), headers=connected.headers()).status_code == 401
    assert control.connections() == []
    # RFC 7009: an unknown token is answered 200 too.
    unknown = http.post(
        connected.server.revocation_url,
        data={"token": "nope"},
        auth=(connected.app["client_id"], connected.app["client_secret"]),
    )
    assert unknown.status_code == 200


def test_control_revocation_makes_refresh_answer_invalid_grant(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.revoke_tokens(connected.app["client_id"], scope="access")
    assert (
        http.get(connected.api("Organisation"), headers=connected.headers()).json()["Detail"]
        == "AuthenticationUnsuccessful"
    )
    renewed = refresh(http, connected)
    assert renewed.status_code == 200
    control.revoke_tokens(connected.app["client_id"], scope="all")
    assert refresh(http, connected, refresh_token=renewed.json()["refresh_token"]).json() == {"error": "invalid_grant"}


def test_pkce_s256_exchanges_without_a_secret_and_checks_the_verifier(tenant: Tenant, http: httpx.Client) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = authorize(http, tenant, code_challenge=challenge, code_challenge_method="S256")
    form = {
        "grant_type": "authorization_code",
        "client_id": tenant.app["client_id"],
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    wrong = http.post(tenant.server.token_url, data={**form, "code_verifier": secrets.token_urlsafe(48)})
    assert wrong.json() == {"error": "invalid_grant"}
    code = authorize(http, tenant, code_challenge=challenge, code_challenge_method="S256")
    good = http.post(tenant.server.token_url, data={**form, "code": code, "code_verifier": verifier})
    assert good.status_code == 200
    renewed = http.post(
        tenant.server.token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": tenant.app["client_id"],
            "refresh_token": good.json()["refresh_token"],
        },
    )
    assert renewed.status_code == 200
    # Without PKCE a code exchange must carry the secret.
    plain = http.post(tenant.server.token_url, data={**form, "code": authorize(http, tenant)})
    assert plain.json() == {"error": "invalid_client"}


def test_scopes_add_up_across_consents(tenant: Tenant, http: httpx.Client) -> None:
    exchange_code(http, tenant, authorize(http, tenant, scope="offline_access accounting.contacts"))
    second = exchange_code(http, tenant, authorize(http, tenant, scope="offline_access accounting.settings"))
    assert set(second.json()["scope"].split()) == {"offline_access", "accounting.contacts", "accounting.settings"}


def test_token_errors_are_counted(tenant: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    exchange_code(http, tenant, "no-such-code")
    assert control.counters()["token_errors"] == {"invalid_grant": 1}
    assert json.loads(json.dumps(control.counters()["calls"]["connect/token"])) == {"400": 1}
