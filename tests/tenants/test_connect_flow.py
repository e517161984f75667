"""The hosted connect flow with Django's test client against the Exact sandbox over real HTTP.

Every failure path ends on an error page whose link returns to the SaaS with a stable error code, consumes the
link where that is right, and leaves no Connection or Credential behind.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tenants.connect.services import PENDING_CHOICE_TTL
from tenants.credentials.store import credential_tokens
from tenants.models import Connection, ConnectionStatus, ConnectLink, ConnectLinkStatus, Credential, Tenant
from tests.fixtures.exact import ExactWorld
from tests.tenants.connect_helpers import (
    Flow,
    allow_app_host,
    create_link,
    path_of,
    query_of,
    return_url,
)
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(workspace):  # type: ignore[no-untyped-def]
    allow_app_host(workspace)
    return TenantFactory(workspace=workspace, name="Bakkerij De Gouden Korst")


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def _flow(auth_client: APIClient, csrf_client: Client, world: ExactWorld, tenant, **link_body: object) -> Flow:  # type: ignore[no-untyped-def]
    link = create_link(auth_client, tenant, **link_body)
    return Flow(client=csrf_client, world=world, link_url=str(link["url"]))


def _assert_nothing_created() -> None:
    assert Connection.objects.count() == 0
    assert Credential.objects.count() == 0


def _assert_error(response, code: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    assert f"<code>{code}</code>" in html, html[:2000]
    outcome = query_of(return_url(html))
    assert outcome["status"] == "error" and outcome["error"] == code
    assert outcome["ref"] == "7"  # the SaaS's own query parameters survive
    return outcome


def _assert_page_only(response, code: str) -> None:  # type: ignore[no-untyped-def]
    """A replay of a link or sign-in that worked (or still goes on): the page only, no way back with status=error."""
    html = response.content.decode()
    assert f"<code>{code}</code>" in html, html[:2000]
    assert '<a class="button"' not in html and 'http-equiv="refresh"' not in html and "status=error" not in html


def test_happy_path_two_divisions(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant: Tenant
) -> None:
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    authorization_url = flow.start(region="nl")
    assert authorization_url.startswith(exact_world.server.base_url("nl") + "/api/oauth2/auth?")
    assert query_of(authorization_url)["redirect_uri"] == "http://testserver/connect/callback"

    response = flow.callback(flow.consent(authorization_url, divisions=[101, 102, 103]))
    assert response.status_code == 302
    picker_path = response["Location"]
    picker = csrf_client.get(picker_path).content.decode()
    # Every granted division is offered; CurrentDivision (101) is pre-selected.
    for name in exact_world.divisions.values():
        assert name in picker
    assert 'value="101" checked' in picker and 'value="102" checked' not in picker

    response = flow.pick(picker_path, ["101", "102"])
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connected" in html and 'http-equiv="refresh"' in html
    outcome = query_of(return_url(html))
    assert outcome["status"] == "success" and outcome["ref"] == "7"
    connections = Connection.objects.filter(tenant=tenant).order_by("company_id")
    assert sorted(outcome["connection_ids"].split(",")) == sorted(str(c.pk) for c in connections)
    assert [(c.company_id, c.company_name, c.status, c.region) for c in connections] == [
        ("101", exact_world.divisions[101], ConnectionStatus.ACTIVE, "nl"),
        ("102", exact_world.divisions[102], ConnectionStatus.ACTIVE, "nl"),
    ]
    # One user, one refresh-token chain: both divisions share one credential.
    assert Credential.objects.count() == 1
    credential = Credential.objects.get()
    assert {c.credential_id for c in connections} == {credential.pk}
    assert credential.vendor_user_name == "Jan de Vries"
    link = ConnectLink.objects.get(pk=outcome["link_id"])
    assert link.status == ConnectLinkStatus.COMPLETED and link.completed_at is not None
    # The tokens work against the sandbox and never appeared on a page.
    tokens = credential_tokens(credential)
    assert tokens.access_token not in html and tokens.refresh_token not in html
    me = httpx.get(
        exact_world.server.base_url("nl") + "/api/v1/current/Me",
        headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"},
    )
    assert me.status_code == 200

    # The link is single use; the page does not send the SaaS an error after its success.
    again = csrf_client.get(path_of(flow.link_url))
    assert again.status_code == 410
    _assert_page_only(again, "link_used")


def test_preset_region_skips_the_choice(auth_client: APIClient, exact_world: ExactWorld, tenant: Tenant) -> None:
    link = create_link(auth_client, tenant, region="nl")
    client = Client()
    response = client.get(path_of(str(link["url"])))
    assert response.status_code == 302 and response["Location"].endswith("/continue")
    page = client.get(response["Location"]).content.decode()
    assert "Continue to Exact Online" in page and "Change region" not in page


def test_region_page_is_accessible_markup(auth_client: APIClient, exact_world: ExactWorld, tenant: Tenant) -> None:
    tenant.workspace.logo_url = "https://app.example.com/logo.png"
    tenant.workspace.save()
    link = create_link(auth_client, tenant)
    html = Client().get(path_of(str(link["url"]))).content.decode()
    assert '<html lang="en">' in html and "<fieldset" in html and "<legend>" in html
    assert html.count('type="radio"') == 7
    for code in ("nl", "be", "de", "uk", "us", "es", "fr"):
        assert f'<label class="choice" for="region-{code}">' in html
    assert tenant.workspace.name in html and "https://app.example.com/logo.png" in html
    assert "/static/tenants/connect.css" in html
    assert "https://" not in html.replace("https://app.example.com/logo.png", "")  # no CDN, no external fonts


def test_missing_region_is_a_form_error(auth_client: APIClient, exact_world: ExactWorld, tenant: Tenant) -> None:
    link = create_link(auth_client, tenant)
    response = Client().post(path_of(str(link["url"])), {})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()


def test_user_declines(auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant: Tenant) -> None:
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start(), approve=False)
    assert query_of(callback)["error"] == "access_denied"
    response = flow.callback(callback)
    outcome = _assert_error(response, "access_denied")
    assert ConnectLink.objects.get(pk=outcome["link_id"]).status == ConnectLinkStatus.FAILED
    _assert_nothing_created()


def test_expired_link(auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant: Tenant) -> None:
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    ConnectLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = csrf_client.get(path_of(flow.link_url))
    assert response.status_code == 410
    outcome = _assert_error(response, "link_expired")
    link = ConnectLink.objects.get(pk=outcome["link_id"])
    assert link.status == ConnectLinkStatus.FAILED and link.error_code == "link_expired"


def test_link_expiring_during_consent(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start())
    ConnectLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _assert_error(flow.callback(callback), "link_expired")
    _assert_nothing_created()


def test_unknown_link_is_a_plain_404_page() -> None:
    response = Client().get("/connect/" + "x" * 43)
    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()


def test_replayed_callback_is_refused(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start())
    picker_path = flow.callback(callback)["Location"]
    flow.pick(picker_path, ["101"])
    assert Connection.objects.count() == 1
    _assert_page_only(flow.callback(callback), "state_reused")
    assert Connection.objects.count() == 1


def test_replay_before_completion_keeps_the_first_consent(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start())
    picker_path = flow.callback(callback)["Location"]
    _assert_page_only(flow.callback(callback), "state_reused")  # no status=error: the flow goes on
    # The replay did not end the link: the user can still finish.
    assert flow.pick(picker_path, ["102"]).status_code == 200
    assert list(Connection.objects.values_list("company_id", flat=True)) == ["102"]


def test_callback_in_another_browser_is_refused(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start())
    outcome = _assert_error(Client().get(path_of(callback)), "state_mismatch")
    assert ConnectLink.objects.get(pk=outcome["link_id"]).status == ConnectLinkStatus.FAILED
    # The original browser cannot use the spent state either.
    _assert_error(flow.callback(callback), "state_reused")
    _assert_nothing_created()


def test_forged_state_is_refused_without_redirect() -> None:
    response = Client().get("/connect/callback?code=abc&state=forged")
    assert response.status_code == 400
    html = response.content.decode()
    assert "state_mismatch" in html and '<a class="button"' not in html


def test_token_exchange_failed(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant: Tenant
) -> None:
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start())
    # A code Exact does not know (e.g. already redeemed) is refused by its token endpoint with 400 invalid_grant.
    tampered = callback.replace("code=", "code=bogus")
    _assert_error(flow.callback(tampered), "token_exchange_failed")
    _assert_nothing_created()


def test_vendor_unavailable(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant: Tenant
) -> None:
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = flow.consent(flow.start())
    exact_world.control.add_fault(kind="503", pattern="/api/oauth2/token")
    _assert_error(flow.callback(callback), "vendor_unavailable")
    _assert_nothing_created()


def test_current_division_not_granted(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    # The user has 101 open in Exact but shares only 102 and 103: Exact lists divisions only through a granted one.
    callback = flow.consent(flow.start(), divisions=[102, 103])
    response = flow.callback(callback)
    _assert_error(response, "current_division_not_granted")
    assert "switch to one of the administrations" in response.content.decode()
    _assert_nothing_created()


def test_no_division_granted(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant: Tenant
) -> None:
    # A user without any administration: the grant covers nothing and there is no division to list through.
    user = exact_world.control.register_user(username="empty@example.com", region="nl")
    exact_world.control.set_auto_consent(exact_world.client_id, user_id=str(user["user_id"]), divisions=None)
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    callback = httpx.get(flow.start(), follow_redirects=False).headers["location"]
    _assert_error(flow.callback(callback), "no_division_granted")
    _assert_nothing_created()


def test_picker_requires_a_division_and_csrf(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    picker_path = flow.callback(flow.consent(flow.start()))["Location"]
    assert flow.pick(picker_path, []).status_code == 400
    assert csrf_client.post(picker_path, {"divisions": ["101"]}).status_code == 403  # no CSRF token
    # A division outside the grant cannot be smuggled in.
    assert flow.pick(picker_path, ["103"]).status_code == 400
    _assert_nothing_created()


def test_picker_belongs_to_the_consenting_browser(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    picker_path = flow.callback(flow.consent(flow.start()))["Location"]
    response = Client().post(picker_path, {"divisions": ["101"]})
    assert "session_expired" in response.content.decode()
    assert ConnectLink.objects.get().status == ConnectLinkStatus.PENDING
    _assert_nothing_created()


def test_stale_choice_expires(
    auth_client: APIClient, csrf_client: Client, exact_world: ExactWorld, tenant, time_machine
) -> None:  # type: ignore[no-untyped-def]
    flow = _flow(auth_client, csrf_client, exact_world, tenant)
    picker_path = flow.callback(flow.consent(flow.start()))["Location"]
    html = csrf_client.get(picker_path).content.decode()
    time_machine.move_to(timezone.now() + PENDING_CHOICE_TTL + timedelta(minutes=1))
    from tests.tenants.connect_helpers import csrf_token

    response = csrf_client.post(picker_path, {"divisions": ["101"], "csrfmiddlewaretoken": csrf_token(html)})
    _assert_error(response, "link_expired")
    _assert_nothing_created()


def test_reconnect_repairs_the_same_connection(auth_client: APIClient, exact_world: ExactWorld, tenant: Tenant) -> None:
    first = Flow(client=Client(), world=exact_world, link_url=str(create_link(auth_client, tenant)["url"]))
    first.pick(first.callback(first.consent(first.start()))["Location"], ["101", "102"])
    broken = Connection.objects.get(company_id="101")
    Connection.objects.filter(pk=broken.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH, status_reason="refresh_token_expired"
    )

    link = create_link(auth_client, tenant, connection_id=str(broken.pk))
    assert link["region"] == "nl" and link["connection_id"] == str(broken.pk)
    second = Flow(client=Client(), world=exact_world, link_url=str(link["url"]))
    authorization_url = second.start(region=None)  # the region is preset by the connection
    picker_path = second.callback(second.consent(authorization_url, divisions=[101]))["Location"]
    assert 'value="101" checked' in second.client.get(picker_path).content.decode()
    outcome = query_of(return_url(second.pick(picker_path, ["101"]).content.decode()))
    assert outcome["connection_ids"] == str(broken.pk)
    broken.refresh_from_db()
    assert broken.status == ConnectionStatus.ACTIVE and broken.status_reason == ""
    assert Connection.objects.count() == 2 and Credential.objects.count() == 1


def test_reconsent_that_fails_later_still_saves_the_new_token_chain(
    auth_client: APIClient, exact_world: ExactWorld, tenant
) -> None:  # type: ignore[no-untyped-def]
    """Exact retires a user's refresh token at every new code exchange: the existing credential must take the new
    pair even when the flow then fails, or the user's other connections would die with it."""
    first = Flow(client=Client(), world=exact_world, link_url=str(create_link(auth_client, tenant)["url"]))
    first.pick(first.callback(first.consent(first.start()))["Location"], ["101"])
    before = credential_tokens(Credential.objects.get())

    second = Flow(client=Client(), world=exact_world, link_url=str(create_link(auth_client, tenant)["url"]))
    _assert_error(second.callback(second.consent(second.start(), divisions=[102])), "current_division_not_granted")
    after = credential_tokens(Credential.objects.get())
    assert after.refresh_token != before.refresh_token
    assert Connection.objects.count() == 1 and Credential.objects.count() == 1


def test_the_oauth_redirect_uri_set_on_its_own_is_used_for_consent_and_exchange(
    auth_client: APIClient, csrf_client: Client, exact_world_factory, tenant: Tenant, settings
) -> None:  # type: ignore[no-untyped-def]
    """The vendor calls back on another host than the public URL (e.g. a proxy): only that URI is registered."""
    world = exact_world_factory(public_url="https://auth.example.com")  # the Exact app knows this callback only
    settings.LEDGERBRIDGE_PUBLIC_URL = "http://testserver"
    settings.LEDGERBRIDGE_OAUTH_REDIRECT_URI = "https://auth.example.com/connect/callback"
    flow = _flow(auth_client, csrf_client, world, tenant)
    assert str(flow.link_url).startswith("http://testserver/connect/")

    authorization_url = flow.start(region="nl")
    assert query_of(authorization_url)["redirect_uri"] == "https://auth.example.com/connect/callback"
    callback = flow.consent(authorization_url, divisions=[101])
    assert callback.startswith("https://auth.example.com/connect/callback?")
    response = flow.callback(callback)  # the exchange sends the same redirect_uri, or the sandbox refuses it
    assert response.status_code == 302, response.content.decode()[:500]
    response = flow.pick(response["Location"], ["101"])

    assert response.status_code == 200 and "Connected" in response.content.decode()
    assert Connection.objects.filter(tenant=tenant, status=ConnectionStatus.ACTIVE).count() == 1
