"""factory-boy factories for workspaces and API keys."""

from __future__ import annotations

from typing import Any

import factory

from tenants import keys
from tenants.models import ApiKey, Workspace


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
