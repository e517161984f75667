"""tenants/connect/views.py, the pages' own answers beside the browser-flow tests over the sandbox
(test_connect_flow.py): unknown, expired and used links, a callback no link started, a division picker
without a session, the closing page in the vendor's words; no page is cached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from connectors.registry import get_connector
from tenants import keys
from tenants.models import ConnectLink, ConnectLinkStatus
from tests.tenants.factories import TenantFactory


def _link(token: str, **fields: object) -> ConnectLink:
    tenant = TenantFactory()
    values: dict[str, object] = {
        "connector": "xero",
        "redirect_url": "https://app.example.com/done",
        "token_hash": keys.hash_key(token),
        "expires_at": timezone.now() + timedelta(hours=1),
        **fields,
    }
    return ConnectLink.objects.create(workspace=tenant.workspace, tenant=tenant, **values)


@pytest.mark.django_db
def test_an_unknown_link_is_a_404_page_that_is_never_cached(client: Client) -> None:
    response = client.get("/connect/" + "x" * 43)
    assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_an_expired_link_fails_once_and_tells_the_saas(client: Client) -> None:
    link = _link("t-expired", expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/connect/t-expired")
    assert response.status_code == 410 and "This link has expired" in response.content.decode()
    link.refresh_from_db()
    assert (link.status, link.error_code) == (ConnectLinkStatus.FAILED, "link_expired")
    assert "status=error&amp;error=link_expired" in response.content.decode()


@pytest.mark.django_db
def test_a_used_link_shows_its_page_without_overwriting_the_outcome(client: Client) -> None:
    link = _link("t-used", status=ConnectLinkStatus.COMPLETED, completed_at=timezone.now())
    response = client.get("/connect/t-used")
    assert response.status_code == 410 and "This link was already used" in response.content.decode()
    link.refresh_from_db()
    assert link.status == ConnectLinkStatus.COMPLETED and link.error_code == ""
    assert "status=error" not in response.content.decode()  # the SaaS already got the real outcome


@pytest.mark.django_db
def test_a_callback_no_link_started_cannot_be_verified(client: Client) -> None:
    response = client.get("/connect/callback", {"state": "never-issued", "code": "c"})
    assert response.status_code == 400 and "We could not verify this sign-in" in response.content.decode()


@pytest.mark.django_db
def test_the_division_picker_needs_the_browser_that_started(client: Client) -> None:
    link = _link("t-picker")
    response = client.get(f"/connect/divisions/{link.pk}")
    assert response.status_code == 400 and "Your session has ended" in response.content.decode()


@pytest.mark.django_db
def test_the_closing_page_names_the_vendor_of_its_link(client: Client) -> None:
    link = _link("t-done")
    xero = get_connector("xero")
    failed = client.get("/connect/done", {"status": "error", "error": "access_denied", "link_id": str(link.pk)})
    assert failed.status_code == 200
    assert f"You declined access on {xero.name}" in failed.content.decode()
    unknown = client.get("/connect/done", {"status": "error", "error": "access_denied", "link_id": "nonsense"})
    assert "You declined access on the accounting system" in unknown.content.decode()
