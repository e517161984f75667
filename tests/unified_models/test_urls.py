"""unified_models/urls.py: the routes are the specs: each resource's list and detail routes answer exactly the
methods its spec permits (POST for create, PATCH for update), finalize and attachment routes exist only where the
spec says, each view carries its spec."""

from __future__ import annotations

import uuid

import pytest
from django.urls import NoReverseMatch, resolve, reverse

from unified_models.specs import SPECS, ResourceSpec

CONNECTION = str(uuid.uuid4())


def _methods(name: str, **kwargs: str) -> set[str]:
    match = resolve(reverse(f"v1:{name}", kwargs={"connection_id": CONNECTION, **kwargs}))
    view = match.func.view_class  # type: ignore[attr-defined]
    return {method.upper() for method in view.http_method_names if hasattr(view, method)} - {"OPTIONS", "HEAD"}


def _exists(name: str, **kwargs: str) -> bool:
    try:
        reverse(f"v1:{name}", kwargs={"connection_id": CONNECTION, **kwargs})
    except NoReverseMatch:
        return False
    return True


@pytest.mark.parametrize("spec", SPECS, ids=[spec.resource.value for spec in SPECS])
def test_each_resources_routes_answer_what_its_spec_permits(spec: ResourceSpec) -> None:
    assert _methods(f"{spec.url_name}-list") == {"GET"} | ({"POST"} if spec.create else set())
    detail = {"GET"} | ({"PATCH"} if spec.update else set()) | ({"DELETE"} if spec.delete else set())
    assert _methods(f"{spec.url_name}-detail", record_id="r-1") == detail
    assert _exists(f"{spec.url_name}-finalize", record_id="r-1") is (spec.finalize is not None)
    assert _exists(f"{spec.url_name}-attachment-list", record_id="r-1") is spec.attachments
    view = resolve(reverse(f"v1:{spec.url_name}-list", kwargs={"connection_id": CONNECTION})).func
    assert view.view_class.spec is spec  # type: ignore[attr-defined]
    assert reverse(f"v1:{spec.url_name}-list", kwargs={"connection_id": CONNECTION}).endswith(
        f"/connections/{CONNECTION}/{spec.resource.value}"
    )
