"""factory-boy factories for workspaces, API keys, tenants, credentials and connections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from tenants import keys
from tenants.credentials import crypto
from tenants.models import ApiKey, Connection, Credential, Tenant, Workspace


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class ApiKeyFactory(factory.django.DjangoModelFactory):
    """Creates a real key; the instance carries `.secret` (the full key) like the create service returns it."""

    class Meta:
        model = ApiKey

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"key {n}")

    @classmethod
    def _create(cls, model_class: type[ApiKey], *args: Any, **kwargs: Any) -> ApiKey:
        generated = keys.generate_key()
        kwargs.update(prefix=generated.prefix, key_hash=generated.key_hash)
        api_key = super()._create(model_class, *args, **kwargs)
        api_key.secret = generated.secret  # type: ignore[attr-defined]
        return api_key


# --- tenants, credentials and connections (token manager tests) -----------------------------------------


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    workspace = factory.SubFactory(WorkspaceFactory)
    external_id = factory.Sequence(lambda n: f"customer-{n}")
    name = factory.Sequence(lambda n: f"Customer {n}")


class CredentialFactory(factory.django.DjangoModelFactory):
    """A stored token pair with made-up tokens (for tests that never reach a vendor); `.tokens` holds them."""

    class Meta:
        model = Credential

    workspace = factory.SubFactory(WorkspaceFactory)
    connector = "exact"
    region = "nl"
    client_id = "3f1c2a4e-0000-4000-8000-000000000001"
    vendor_user_id = factory.Sequence(lambda n: f"00000000-0000-4000-8000-{n:012d}")
    vendor_user_name = "Jan de Vries"
    access_token_encrypted = factory.LazyFunction(lambda: crypto.encrypt("AAEAAfake-access-token"))
    refresh_token_encrypted = factory.LazyFunction(lambda: crypto.encrypt("Gcp7!IAAAfake-refresh-token"))
    obtained_at = factory.LazyFunction(timezone.now)
    access_token_expires_at = factory.LazyAttribute(lambda o: o.obtained_at + timedelta(seconds=600))
    refresh_token_expires_at = factory.LazyAttribute(lambda o: o.obtained_at + timedelta(days=30))


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    workspace = factory.SelfAttribute("tenant.workspace")
    tenant = factory.SubFactory(TenantFactory)
    connector = "exact"
    region = "nl"
    company_id = "101"
    company_name = factory.LazyAttribute(lambda o: f"Division {o.company_id}")
    credential = factory.SubFactory(CredentialFactory, workspace=factory.SelfAttribute("..workspace"))
    connected_at = factory.LazyFunction(timezone.now)


def connect_via_sandbox(
    world: Any, *, workspace: Workspace, divisions: list[int] | None = None, connect: tuple[int, ...] = (101,)
) -> tuple[Credential, list[Connection]]:
    """The real OAuth dance against the Exact sandbox (auto-consent): code, exchange, current user, stored
    credential, and one Connection per division in `connect` (which may include divisions the grant does not cover)."""
    from tests.fixtures.sandbox import connect_through_sandbox

    return connect_through_sandbox(
        world, workspace=workspace, consent=divisions, company_ids=[str(code) for code in connect]
    )


def age_credential(world: Any, credential: Credential, seconds: float) -> None:
    """Pretend `seconds` passed since the stored tokens were obtained: move the stored moments (and a cooldown)
    back and the sandbox clock forward by the same amount, so the gateway and Exact agree on the tokens' age."""
    from django.db.models import F

    delta = timedelta(seconds=seconds)
    Credential.objects.filter(pk=credential.pk).update(
        obtained_at=F("obtained_at") - delta,
        access_token_expires_at=F("access_token_expires_at") - delta,
        refresh_token_expires_at=F("refresh_token_expires_at") - delta,
        refresh_not_before=F("refresh_not_before") - delta,
    )
    world.control.advance_clock(seconds)
    credential.refresh_from_db()


def token_calls(world: Any) -> int:
    """Requests that reached the sandbox's token endpoint (any grant, any outcome) since the last counter reset.

    Dropped connections get no status and are counted as faults only: the tests inject drops on the token path.
    """
    counters = world.control.counters()
    dropped = sum(counters["faults"].get(kind, 0) for kind in ("drop_after_apply", "drop_before_apply"))
    return sum(counters["calls"].get("oauth2/token", {}).values()) + dropped
