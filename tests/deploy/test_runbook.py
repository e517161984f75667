"""deploy/RUNBOOK.md: a section for every alert, and the commands, pages, API calls, tasks, Deployments and metrics
it tells an operator to use exist in this project."""

from __future__ import annotations

import re
import uuid

import yaml
from django.core.management import get_commands
from django.urls import Resolver404, resolve

from tests.deploy import catalogue
from tests.deploy.manifests import base_documents, by_kind

RUNBOOK = catalogue.ROOT / "deploy" / "RUNBOOK.md"


def _slug(heading: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def runbook_anchors() -> set[str]:
    return {_slug(heading) for heading in re.findall(r"^#{1,6}\s+(.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)}


def _text() -> str:
    # Commands are wrapped over lines (`\` continuations, long inline code): read them as one line each.
    return re.sub(r"\\\n\s*", "", RUNBOOK.read_text())


def test_every_alert_has_its_own_section() -> None:
    headings = re.findall(r"^## (\w+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    groups = yaml.safe_load(catalogue.ALERTS_PATH.read_text())["groups"]
    alerts = [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]
    assert [heading for heading in headings if heading.startswith("Ledgerbridge")] == alerts
    for alert in alerts:
        section = RUNBOOK.read_text().split(f"## {alert}\n", 1)[1].split("\n## ", 1)[0]
        assert "**Means:**" in section and "**Do:**" in section, alert


def test_links_inside_the_runbook_resolve() -> None:
    anchors = runbook_anchors()
    assert {"send-a-re-consent-link", "look-at-a-divisions-budget"} <= anchors  # the slugs are computed right
    for target in re.findall(r"\]\(#([^)]+)\)", RUNBOOK.read_text()):
        assert target in anchors, target


def test_management_commands_exist() -> None:
    named = set(re.findall(r"manage\.py (\w+)", _text()))
    assert {"rotate_credential_keys", "create_api_key", "revoke_api_key"} <= named
    assert named <= set(get_commands()), named - set(get_commands())


def test_celery_tasks_and_queues_exist() -> None:
    from django.conf import settings

    from gateway.celery import app

    app.loader.import_default_modules()
    text = _text()
    called = re.findall(r"celery -A gateway call ([\w.]+)", text)
    assert called and set(called) <= set(app.tasks), called
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    named = set(re.findall(r"--queue (\w+)|-Q (\w+)|_consumer (\w+)", text))
    assert {name for group in named for name in group if name} <= queues


def test_admin_pages_exist() -> None:
    pages = set(re.findall(r"(/admin/[\w/]+/)", _text()))
    assert "/admin/unified_models/mutation/" in pages
    for page in pages:
        assert resolve(page).url_name.endswith(("_changelist", "index")), page


def test_admin_filters_name_real_fields() -> None:
    """`?status__exact=` and `?connection__id__exact=` must be filters the admin pages offer."""
    for page, query in re.findall(r"(/admin/\w+/\w+/)\?(\w+)=", _text()):
        model_admin = resolve(page).func.model_admin  # type: ignore[attr-defined]
        field = query.removesuffix("__exact").split("__")[0]
        if query == "q":
            assert model_admin.search_fields, page
        else:
            assert field in model_admin.list_filter, (page, query)


def test_api_calls_exist_with_their_method() -> None:
    calls = set(re.findall(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/v1/[\w{}/-]+)", _text()))
    curl_paths = set(re.findall(r"https://<gateway host>(/api/v1/(?:[\w/-]|<[^>]*>)+)", _text()))
    assert calls and curl_paths
    for method, path in calls | {("POST", path) for path in curl_paths}:
        concrete = re.sub(r"\{[^}]+\}|<[^>]+>", str(uuid.uuid4()), path)
        try:
            view = resolve(concrete).func.view_class  # type: ignore[attr-defined]
        except Resolver404:
            raise AssertionError(f"{path} is no URL of this project") from None
        assert hasattr(view, method.lower()), f"{method} {path}"


def test_kubernetes_objects_named_exist() -> None:
    documents = base_documents()
    deployments = set(by_kind(documents, "Deployment"))
    named = set(re.findall(r"deploy/(ledgerbridge-[\w-]+)", _text()))
    templated = {name for name in named if name.endswith("-")}  # ledgerbridge-worker-<queue>
    assert named - templated <= deployments, (named - templated) - deployments
    assert all(any(deployment.startswith(prefix) for deployment in deployments) for prefix in templated)
    for kind, name in (("Secret", "ledgerbridge-secrets"), ("ConfigMap", "ledgerbridge-config")):
        if name in RUNBOOK.read_text():
            assert name in by_kind(documents, kind)


def test_metrics_named_exist() -> None:
    metrics = catalogue.load()
    named = set(re.findall(r"\b(ledgerbridge_[a-z_]+)", _text()))
    assert named and {name for name in named if metrics.metric_for_series(name) is None} == set()
