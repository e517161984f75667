"""Reads, always scoped to the caller's workspace: the one place where tenancy is enforced for queries."""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from tenants.models import ApiKey, Workspace

M = TypeVar("M", bound=Model)


def workspace_scoped(queryset: QuerySet[M], *, workspace: Workspace, field: str = "workspace") -> QuerySet[M]:
    """Restrict any queryset to one workspace; every selector that returns workspace data goes through here."""
    return queryset.filter(**{field: workspace})


def scoped_get(queryset: QuerySet[M], *, workspace: Workspace, pk: uuid.UUID | str, field: str = "workspace") -> M:
    """One record of the caller's workspace, or 404: never a hint that it exists in another workspace."""
    try:
        return workspace_scoped(queryset, workspace=workspace, field=field).get(pk=pk)
    except (ObjectDoesNotExist, ValidationError, ValueError) as exc:  # a malformed id is simply not found
        raise Http404 from exc


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return workspace_scoped(ApiKey.objects.all(), workspace=workspace)


def api_key_get(*, workspace: Workspace, api_key_id: uuid.UUID | str) -> ApiKey:
    return scoped_get(ApiKey.objects.all(), workspace=workspace, pk=api_key_id)
