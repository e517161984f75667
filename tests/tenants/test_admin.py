"""Operators' admin: workspaces and keys are manageable; key secrets and hashes never render after creation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.models import ApiKey
from tests.tenants.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-ops-123")
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_workspaces_and_keys_without_secrets(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    key = ApiKeyFactory(workspace=workspace)
    assert workspace.name in admin_client.get("/admin/tenants/workspace/").content.decode()
    for url in (
        f"/admin/tenants/workspace/{workspace.pk}/change/",
        "/admin/tenants/apikey/",
        f"/admin/tenants/apikey/{key.pk}/change/",
    ):
        html = admin_client.get(url).content.decode()
        assert key.prefix in html
        assert key.secret not in html
        assert key.key_hash not in html


def test_admin_creates_a_key_and_shows_it_once(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post(
        "/admin/tenants/apikey/add/", {"workspace": workspace.pk, "name": "from admin"}, follow=True
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="from admin")
    shown = [str(m) for m in response.context["messages"]]
    secret = next(m.split(": ")[-1] for m in shown if "shown only now" in m)
    assert secret.startswith(key.prefix + ".")
    # Reloading shows no secret any more.
    assert secret not in admin_client.get(f"/admin/tenants/apikey/{key.pk}/change/").content.decode()


def test_admin_revoke_action(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    key = ApiKeyFactory(workspace=workspace)
    admin_client.post(
        "/admin/tenants/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]}, follow=True
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
