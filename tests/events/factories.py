"""factory-boy factories for webhook endpoints (created through the service: the instance carries `.secret`)."""

from __future__ import annotations

from typing import Any

import factory

from events import services
from events.models import WebhookEndpoint
from tests.tenants.factories import WorkspaceFactory


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    workspace = factory.SubFactory(WorkspaceFactory)
    url = "https://hooks.example.com/ledgerbridge"
    description = ""
    event_types: list[str] = []

    @classmethod
    def _create(cls, model_class: type[WebhookEndpoint], *args: Any, **kwargs: Any) -> WebhookEndpoint:
        created = services.webhook_endpoint_create(**kwargs)
        created.endpoint.secret = created.secret  # type: ignore[attr-defined]
        return created.endpoint
