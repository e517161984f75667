"""tenants/connect/services.py, the steps the browser-flow tests (test_connect_flow.py) walk through over the
sandbox, here one by one: the session copy of a consent, the outcome URL, link usability and its first outcome,
binding a single-use state, and claiming it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone

from connectors.base.types import Company, TokenSet, VendorUser
from connectors.registry import get_connector
from tenants import keys
from tenants.connect import services
from tenants.models import ConnectLink, ConnectLinkStatus
from tests.tenants.factories import ConnectionFactory, TenantFactory

USER = VendorUser(user_id="u-1", name="Jan de Vries", email="jan@example.com", default_company_id="101")


def _link(**fields: Any) -> ConnectLink:
    tenant = fields.pop("tenant", None) or TenantFactory()
    values: dict[str, Any] = {
        "connector": "exact",
        "redirect_url": "https://app.example.com/done?ref=7&status=stale",
        "token_hash": keys.hash_key(keys.generate_key().secret),
        "expires_at": timezone.now() + timedelta(minutes=30),
        **fields,
    }
    return ConnectLink.objects.create(workspace=tenant.workspace, tenant=tenant, **values)


@pytest.mark.django_db
def test_a_pending_consent_survives_the_session_with_its_tokens_encrypted() -> None:
    token_set = TokenSet("access-secret", "refresh-secret", timezone.now(), 600, timedelta(days=30))
    pending = services.PendingConsent(
        link_id="link-1",
        region="nl",
        vendor_user=USER,
        token_set=token_set,
        companies=[Company("101", "Main", "NL", "EUR"), Company("102", "Second")],
        preselected=["101"],
        received_at=timezone.now(),
    )

    stored = pending.to_session()

    assert "access-secret" not in str(stored) and "refresh-secret" not in str(stored)
    assert services.PendingConsent.from_session(stored) == pending
    assert "secret" not in repr(pending)


@pytest.mark.django_db
def test_a_consent_already_stored_keeps_only_the_credential_id_and_an_api_key_never_expires() -> None:
    stored = services.PendingConsent("l", "", USER, None, [], [], timezone.now(), credential_id="c-1").to_session()
    assert "tokens" not in stored and services.PendingConsent.from_session(stored).credential_id == "c-1"

    api_key = TokenSet.for_api_key("key-1", obtained_at=timezone.now())
    again = services.PendingConsent.from_session(
        services.PendingConsent("l", "", USER, api_key, [], [], timezone.now()).to_session()
    )
    assert again.token_set == api_key and again.token_set.expires_in is None


@pytest.mark.django_db
def test_the_outcome_keeps_the_saas_query_and_replaces_stale_outcome_parameters() -> None:
    link = _link()
    success = dict(parse_qsl(urlsplit(services.outcome_url(link, connection_ids=["a", "b"])).query))
    assert success == {"ref": "7", "status": "success", "connection_ids": "a,b", "link_id": str(link.pk)}
    error = parse_qsl(urlsplit(services.outcome_url(link, error="access_denied")).query)
    assert error == [("ref", "7"), ("status", "error"), ("error", "access_denied"), ("link_id", str(link.pk))]


@pytest.mark.django_db
def test_regions_are_the_connectors_own_or_none_and_a_repair_link_takes_its_connections() -> None:
    exact = get_connector("exact")
    assert services.region_is_valid(exact, "nl") and not services.region_is_valid(exact, "")
    assert not services.region_is_valid(exact, "mars")
    connection = ConnectionFactory(region="be")
    assert services.link_region(_link(tenant=connection.tenant, repair_connection=connection)) == "be"
    assert services.link_region(_link(region="nl")) == "nl" and services.link_region(_link()) == ""


@pytest.mark.django_db
def test_a_link_is_usable_while_pending_and_fresh_and_its_first_outcome_stands() -> None:
    with pytest.raises(services.FlowError) as missing:
        services.link_check_usable(None)
    assert missing.value.code == "link_not_found"
    expired = _link(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.FlowError) as late:
        services.link_check_usable(expired)
    assert (late.value.code, late.value.consume) == ("link_expired", True)

    link = _link()
    assert services.link_check_usable(link) is link
    assert services.connect_link_fail(link=link, error_code="access_denied") is True
    assert services.connect_link_fail(link=link, error_code="state_mismatch") is False
    link.refresh_from_db()
    assert (link.status, link.error_code) == (ConnectLinkStatus.FAILED, "access_denied")
    with pytest.raises(services.FlowError) as used:
        services.link_check_usable(link)
    assert (used.value.code, used.value.consume) == ("link_used", False)


@pytest.mark.django_db
def test_starting_consent_binds_a_new_single_use_state_and_only_the_newest_counts(settings: Any) -> None:
    settings.EXACT_CLIENT_ID, settings.EXACT_CLIENT_SECRET = "app-1", "secret-1"
    link = _link()

    first = services.connect_consent_start(link=link, region="nl")
    second = services.connect_consent_start(link=link, region="nl")

    link.refresh_from_db()
    assert link.oauth_state_hash == services.hash_state(second.state) != services.hash_state(first.state)
    query = dict(parse_qsl(urlsplit(second.authorization_url).query))
    assert query["state"] == second.state and query["client_id"] == "app-1"
    assert query["redirect_uri"] == services.callback_url()
    assert second.state not in repr(second)
    with pytest.raises(services.FlowError) as refused:
        services.connect_consent_start(link=link, region="mars")
    assert (refused.value.code, refused.value.consume) == ("invalid_region", False)


@pytest.mark.django_db
def test_consent_without_any_app_registration_ends_the_link(settings: Any) -> None:
    settings.EXACT_CLIENT_ID = ""
    with pytest.raises(services.FlowError) as refused:
        services.connect_consent_start(link=_link(), region="nl")
    assert (refused.value.code, refused.value.consume) == ("vendor_not_configured", True)


@pytest.mark.django_db
def test_a_state_is_claimed_once_and_only_by_the_browser_that_started_it(settings: Any) -> None:
    settings.EXACT_CLIENT_ID, settings.EXACT_CLIENT_SECRET = "app-1", "secret-1"
    link = _link()
    start = services.connect_consent_start(link=link, region="nl")
    link.refresh_from_db()

    services.connect_state_claim(link=link, state=start.state, session_state_hash=services.hash_state(start.state))
    link.refresh_from_db()
    with pytest.raises(services.FlowError) as replayed:
        services.connect_state_claim(link=link, state=start.state, session_state_hash=services.hash_state(start.state))
    assert (replayed.value.code, replayed.value.consume) == ("state_reused", False)

    other = _link()
    other_start = services.connect_consent_start(link=other, region="nl")
    other.refresh_from_db()
    with pytest.raises(services.FlowError) as foreign:  # another browser's session: the state is spent anyway
        services.connect_state_claim(link=other, state=other_start.state, session_state_hash=None)
    assert (foreign.value.code, foreign.value.consume) == ("state_mismatch", True)
    other.refresh_from_db()
    assert other.oauth_state_used_at is not None
