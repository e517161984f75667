"""tenants/serializers.py: what the API shows (never a key hash, a vendor token or a stored blank as a value)
and what it accepts (hosts as given, link lifetimes within bounds, filters never empty)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tenants import keys, serializers
from tenants.models import ConnectLink
from tenants.services import CONNECT_LINK_DEFAULT_TTL, api_key_revoke
from tests.tenants.factories import ApiKeyFactory, ConnectionFactory, TenantFactory, WorkspaceFactory


@pytest.mark.django_db
def test_a_workspace_without_a_logo_shows_null() -> None:
    data = serializers.WorkspaceSerializer(WorkspaceFactory(logo_url="")).data
    assert data["logo_url"] is None
    shown = serializers.WorkspaceSerializer(WorkspaceFactory(logo_url="https://cdn.example.com/l.png")).data
    assert shown["logo_url"] == "https://cdn.example.com/l.png"


def test_a_workspace_update_takes_hosts_as_given_and_null_removes_the_logo() -> None:
    update = serializers.WorkspaceUpdateSerializer(
        data={"allowed_redirect_hosts": ["App.Example.com.", "[::1]"], "logo_url": None}
    )
    assert update.is_valid(), update.errors
    assert update.validated_data == {"allowed_redirect_hosts": ["App.Example.com.", "[::1]"], "logo_url": ""}
    untrimmed = serializers.WorkspaceUpdateSerializer(data={"allowed_redirect_hosts": [" app.example.com"]})
    assert untrimmed.is_valid()  # kept as given: the service refuses it naming the list
    assert untrimmed.validated_data["allowed_redirect_hosts"] == [" app.example.com"]
    too_many = serializers.WorkspaceUpdateSerializer(data={"allowed_redirect_hosts": ["a.io"] * 51})
    assert not too_many.is_valid() and "allowed_redirect_hosts" in too_many.errors


@pytest.mark.django_db
def test_an_api_key_shows_its_status_and_never_its_hash() -> None:
    key = ApiKeyFactory()
    data = serializers.ApiKeySerializer(key).data
    assert data["status"] == "active" and key.key_hash not in str(data) and "key" not in data
    api_key_revoke(api_key=key)
    assert serializers.ApiKeySerializer(key).data["status"] == "revoked"


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"connector": "exact", "redirect_url": "https://app.example.com/done"}, True),
        ({"connector": "exact", "redirect_url": "ftp://app.example.com/done"}, False),
        ({"connector": "exact", "redirect_url": "https://app.example.com/done", "expires_in": 299}, False),
        ({"connector": "exact", "redirect_url": "https://app.example.com/done", "expires_in": 86_401}, False),
        ({"connector": "exact", "redirect_url": "https://app.example.com/done", "expires_in": "600"}, False),
        ({"connector": "exact", "redirect_url": "https://app.example.com/done", "connection_id": "12"}, False),
    ],
)
def test_a_connect_link_request_is_checked_field_by_field(body: dict[str, Any], valid: bool) -> None:
    assert serializers.ConnectLinkCreateSerializer(data=body).is_valid() is valid


def test_a_link_lives_an_hour_unless_told() -> None:
    default = serializers.ConnectLinkCreateSerializer(
        data={"connector": "exact", "redirect_url": "https://app.example.com/done"}
    )
    assert default.is_valid() and default.validated_expires_in() == CONNECT_LINK_DEFAULT_TTL
    short = serializers.ConnectLinkCreateSerializer(
        data={"connector": "exact", "redirect_url": "https://app.example.com/done", "expires_in": 300}
    )
    assert short.is_valid() and short.validated_expires_in() == timedelta(minutes=5)


@pytest.mark.django_db
def test_a_link_without_a_preset_region_shows_null_and_its_repair_connection() -> None:
    connection = ConnectionFactory()
    link = ConnectLink.objects.create(
        workspace=connection.workspace,
        tenant=connection.tenant,
        connector="exact",
        redirect_url="https://app.example.com/done",
        token_hash=keys.hash_key("t"),
        repair_connection=connection,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    link.url = "https://gateway.example.com/connect/t"  # type: ignore[attr-defined]
    data = serializers.ConnectLinkSerializer(link).data
    assert data["region"] is None and data["connection_id"] == str(connection.pk)
    assert data["tenant_id"] == str(connection.tenant_id) and link.token_hash not in str(data)


@pytest.mark.django_db
def test_a_connection_shows_when_its_token_expires_but_never_the_token() -> None:
    connection = ConnectionFactory()
    data = serializers.ConnectionSerializer(connection).data
    assert data["access_token_expires_at"] is not None
    assert "AAEAAfake-access-token" not in str(data) and connection.credential.access_token_encrypted not in str(data)


def test_list_filters_are_refused_when_empty_or_unknown() -> None:
    assert serializers.ConnectionListFilterSerializer(data={"status": "active"}).is_valid()
    assert not serializers.ConnectionListFilterSerializer(data={"status": "sleeping"}).is_valid()
    assert not serializers.ConnectionListFilterSerializer(data={"tenant": ""}).is_valid()
    assert not serializers.TenantListFilterSerializer(data={"external_id": ""}).is_valid()


@pytest.mark.django_db
def test_a_tenant_shows_its_ids_and_names_only() -> None:
    tenant = TenantFactory(external_id="acme", name="Acme")
    assert set(serializers.TenantSerializer(tenant).data) == {"id", "external_id", "name", "created_at", "updated_at"}
