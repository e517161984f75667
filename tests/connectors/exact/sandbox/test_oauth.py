"""OAuth over real HTTP: code flow, consent form, 570 s rule, rotation, old and expired refresh tokens."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import (
    ACCOUNTS,
    REDIRECT_URI,
    Tenant,
    authorize,
    exchange_code,
    make_tenant,
    refresh,
)


def test_code_exchange_returns_exact_token_shape(tenant: Tenant, http: httpx.Client) -> None:
    code = authorize(http, tenant)
    assert "!" in code  # Exact's codes contain "!" and arrive URL-encoded in the redirect
    response = exchange_code(http, tenant, code)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == "600"  # a string, as Exact sends it


def test_code_is_single_use(tenant: Tenant, http: httpx.Client) -> None:
    code = authorize(http, tenant)
    assert exchange_code(http, tenant, code).status_code == 200
    reused = exchange_code(http, tenant, code)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_code_expires_after_three_minutes(tenant: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    code = authorize(http, tenant)
    control.advance_clock(181)
    assert exchange_code(http, tenant, code).status_code == 400


def test_code_within_three_minutes_works(tenant: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    code = authorize(http, tenant)
    control.advance_clock(170)
    assert exchange_code(http, tenant, code).status_code == 200


def test_wrong_client_secret_is_rejected(tenant: Tenant, http: httpx.Client) -> None:
    code = authorize(http, tenant)
    response = http.post(
        f"{tenant.base_url}/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": tenant.app["client_id"],
            "client_secret": "wrong",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_refresh_before_570_seconds_is_refused(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.advance_clock(569)
    response = refresh(http, connected)
    assert response.status_code == 400
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Rate limit exceeded: access_token not expired",
    }
    assert response.headers["Reason"] == "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"
    assert control.counters()["token_errors"]["access_denied"] == 1


def test_refresh_after_570_seconds_rotates_and_old_token_is_dead(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    old = connected.tokens
    control.advance_clock(571)
    response = refresh(http, connected)
    assert response.status_code == 200
    new = response.json()
    assert new["refresh_token"] != old["refresh_token"]
    assert new["access_token"] != old["access_token"]
    assert new["expires_in"] == "600"

    replay = refresh(http, connected, old["refresh_token"])
    assert replay.status_code == 401
    assert replay.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}

    # The new token works on the API; refreshing again needs another 570 s.
    me = http.get(f"{connected.base_url}/api/v1/current/Me", headers=connected.headers(new["access_token"]))
    assert me.status_code == 200
    assert refresh(http, connected, new["refresh_token"]).status_code == 400
    assert control.counters()["token_refreshes"] == 1


def test_refresh_token_expires_after_30_days(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.advance_clock(30 * 24 * 3600 + 5)
    response = refresh(http, connected)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["error_description"].startswith("The refresh token expired at ")
    assert " and it is now " in body["error_description"]
    assert body["error_description"].endswith("M.")  # "… 9:18:20 PM." like Exact's .NET text


def test_new_login_replaces_the_refresh_chain(connected: Tenant, http: httpx.Client) -> None:
    """Exact keeps only one refresh token per app and user: a second consent kills the first chain."""
    second = exchange_code(http, connected, authorize(http, connected)).json()
    first_refresh = refresh(http, connected, connected.tokens["refresh_token"])
    assert first_refresh.status_code == 401
    assert second["refresh_token"] != connected.tokens["refresh_token"]


def test_access_token_expires_after_600_seconds(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    url = f"{connected.base_url}/api/v1/current/Me"
    assert http.get(url, headers=connected.headers()).status_code == 200
    control.advance_clock(600)
    expired = http.get(url, headers=connected.headers())
    assert expired.status_code == 401
    assert expired.json()["error"]["message"]["value"]


def test_missing_and_invalid_bearer_tokens_get_401(tenant: Tenant, http: httpx.Client) -> None:
    url = f"{tenant.base_url}/api/v1/current/Me"
    missing = http.get(url, headers={"Accept": "application/json"})
    assert missing.status_code == 401
    assert set(missing.json()["error"]) == {"code", "message"}
    assert http.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_token_is_bound_to_its_region(control: SandboxControl, server: SandboxServer, http: httpx.Client) -> None:
    tenant = make_tenant(control, server, region="be", divisions=(200001,))
    tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert http.get(f"{server.base_url('be')}/api/v1/current/Me", headers=headers).status_code == 200
    assert http.get(f"{server.base_url('nl')}/api/v1/current/Me", headers=headers).status_code == 401


class _FormParser(HTMLParser):
    """Collects the consent form's action, hidden fields, user options and division checkboxes."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.users: list[str] = []
        self.divisions: list[str] = []
        self.buttons: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a["action"]
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        elif tag == "input" and a.get("type") == "checkbox":
            self.divisions.append(a["value"])
        elif tag == "option":
            self.users.append(a["value"])
        elif tag == "button":
            self.buttons.append((a["name"], a["value"]))


def _consent_form(http: httpx.Client, tenant: Tenant, state: str) -> _FormParser:
    page = http.get(
        f"{tenant.base_url}/api/oauth2/auth",
        params={
            "client_id": tenant.app["client_id"],
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "state": state,
            "force_login": "1",
        },
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = _FormParser()
    parser.feed(page.text)
    return parser


def test_consent_page_approve_grants_ticked_divisions(
    control: SandboxControl, server: SandboxServer, http: httpx.Client
) -> None:
    tenant = make_tenant(control, server, divisions=(100001, 100002))
    control.clear_auto_consent(tenant.app["client_id"])
    form = _consent_form(http, tenant, state="consent-1")
    assert form.users == [tenant.user["user_id"]]
    assert sorted(form.divisions) == ["100001", "100002"]
    assert ("decision", "approve") in form.buttons

    response = http.post(
        f"{server.root_url}{form.action}",
        data={**form.hidden, "user_id": form.users[0], "division": ["100001"], "decision": "approve"},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["consent-1"]
    tokens = exchange_code(http, tenant, query["code"][0]).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    assert http.get(tenant.api_url(ACCOUNTS, 100001), headers=headers).status_code == 200
    # Not ticked on the consent screen: division scoping keeps it out of the grant.
    denied = http.get(tenant.api_url(ACCOUNTS, 100002), headers=headers)
    assert denied.status_code == 403
    assert denied.headers["Reason"] == "NoDivisionAccess"


def test_consent_page_decline_redirects_with_access_denied(
    control: SandboxControl, server: SandboxServer, http: httpx.Client
) -> None:
    tenant = make_tenant(control, server)
    control.clear_auto_consent(tenant.app["client_id"])
    form = _consent_form(http, tenant, state="consent-2")
    response = http.post(
        f"{server.root_url}{form.action}", data={**form.hidden, "user_id": form.users[0], "decision": "decline"}
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["consent-2"]}


def test_unregistered_redirect_uri_is_not_followed(tenant: Tenant, http: httpx.Client) -> None:
    response = http.get(
        f"{tenant.base_url}/api/oauth2/auth",
        params={"client_id": tenant.app["client_id"], "redirect_uri": "https://evil.test/", "response_type": "code"},
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


def _snapshot(control: SandboxControl, tmp_path: Path) -> dict[str, Any]:
    return json.loads(Path(control.snapshot(str(tmp_path / "snap.json"))).read_text())["oauth"]


def test_dead_refresh_tokens_are_forgotten_after_the_refresh_lifetime(
    connected: Tenant, http: httpx.Client, control: SandboxControl, tmp_path: Path
) -> None:
    """Rotated-away and revoked refresh tokens are kept 30 days (the refresh lifetime), not forever."""
    old = connected.tokens["refresh_token"]
    control.advance_clock(570)
    rotated = refresh(http, connected)
    assert rotated.status_code == 200
    oauth = _snapshot(control, tmp_path)
    assert [item["token"] for item in oauth["retired_refresh"]] == [old]
    assert set(oauth["dead_refresh_since"]) == {old}
    control.revoke_tokens(connected.app["client_id"], scope="all")
    revoked = rotated.json()["refresh_token"]
    assert _snapshot(control, tmp_path)["revoked_refresh"] == [revoked]
    control.advance_clock(29 * 86400)
    assert refresh(http, connected, old).json()["error_description"] == "Old refresh token used."
    control.advance_clock(2 * 86400)
    authorize(http, connected)  # any auth or token request prunes
    oauth = _snapshot(control, tmp_path)
    assert oauth["retired_refresh"] == [] and oauth["revoked_refresh"] == [] and oauth["dead_refresh_since"] == {}


def test_unused_codes_are_pruned_on_auth_requests(tenant: Tenant, http: httpx.Client, server: SandboxServer) -> None:
    control = server.control
    stale = authorize(http, tenant)
    control.advance_clock(2 * 3600)
    fresh = authorize(http, tenant)  # no token was issued in between
    assert set(server.sandbox.oauth.codes) == {fresh}
    assert stale != fresh


def _basic(client_id: str, client_secret: str) -> dict[str, str]:
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def test_token_endpoint_accepts_http_basic_client_authentication(tenant: Tenant, http: httpx.Client) -> None:
    app = tenant.app
    code = authorize(http, tenant)
    # The form carries the grant only, as exact-online-sdk, exactpy and python-exact-online send it (RFC 6749 §2.3.1).
    response = http.post(
        f"{tenant.base_url}/api/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers=_basic(app["client_id"], app["client_secret"]),
    )
    assert response.status_code == 200, response.text
    tenant.tokens = response.json()
    tenant.server.control.advance_clock(571)
    refreshed = http.post(
        f"{tenant.base_url}/api/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tenant.tokens["refresh_token"]},
        headers=_basic(app["client_id"], app["client_secret"]),
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != tenant.tokens["refresh_token"]


def test_basic_and_form_credentials_that_agree_are_accepted(tenant: Tenant, http: httpx.Client) -> None:
    app = tenant.app
    response = http.post(
        f"{tenant.base_url}/api/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": authorize(http, tenant),
            "redirect_uri": REDIRECT_URI,
            "client_id": app["client_id"],
        },
        headers=_basic(app["client_id"], app["client_secret"]),
    )
    assert response.status_code == 200, response.text


def test_basic_and_form_credentials_that_differ_are_invalid_client(
    control: SandboxControl, tenant: Tenant, http: httpx.Client
) -> None:
    app = tenant.app
    other = control.register_app(redirect_uris=[REDIRECT_URI], name="Other app")
    code = authorize(http, tenant)
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    attempts = [
        # Another (valid) app in the form than in the header.
        ({**grant, "client_id": other["client_id"], "client_secret": other["client_secret"]}, app),
        # The same client id, but the form's secret differs from the header's.
        ({**grant, "client_id": app["client_id"], "client_secret": "not-the-secret"}, app),
    ]
    for form, header_app in attempts:
        response = http.post(
            f"{tenant.base_url}/api/oauth2/token",
            data=form,
            headers=_basic(header_app["client_id"], header_app["client_secret"]),
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
    # The code was not used up by the refused attempts.
    assert exchange_code(http, tenant, code).status_code == 200


def test_wrong_basic_secret_and_malformed_basic_header_are_invalid_client(tenant: Tenant, http: httpx.Client) -> None:
    grant = {"grant_type": "authorization_code", "code": authorize(http, tenant), "redirect_uri": REDIRECT_URI}
    for header in (_basic(tenant.app["client_id"], "wrong"), {"Authorization": "Basic !!!not-base64"}):
        response = http.post(f"{tenant.base_url}/api/oauth2/token", data=grant, headers=header)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
