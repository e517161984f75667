"""Failed and in-doubt writes over the API (issue 14, item 3) against the Exact sandbox: list, retrieve, retry."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.tenants.factories import ApiKeyFactory
from tests.unified_models.conftest import Connected, invoice_body
from unified_models import services
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)

SALES_INVOICES = "/api/v1/*/salesinvoice/SalesInvoices"
MUTATIONS = "/api/v1/mutations"


def _invoices_with_reference(connected: Connected, reference: str) -> int:
    return [row["YourRef"] for row in connected.dump("SalesInvoices")].count(reference)


def _failed_write(mapped: Connected, customer_id: str, reference: str) -> str:
    """An invoice write Exact refuses with a 503 (nothing created): a failed mutation; its id."""
    mapped.world.control.add_fault(kind="503", pattern=SALES_INVOICES, method="POST", times=1)
    refused = mapped.client.post(mapped.url("invoices"), invoice_body(customer_id, reference=reference), format="json")
    assert refused.status_code == 503, refused.json()
    assert refused.json()["mutation_status"] == "failed"
    return str(refused.json()["mutation_id"])


def test_a_failed_write_is_listed_shown_with_its_attempts_and_retried_once(
    mapped: Connected, first_customer_id: str
) -> None:
    mutation_id = _failed_write(mapped, first_customer_id, "RETRY-1")
    assert _invoices_with_reference(mapped, "RETRY-1") == 0

    failed = mapped.client.get(MUTATIONS, {"status": "failed"}).json()
    assert [row["id"] for row in failed["results"]] == [mutation_id]
    assert failed["next"] is None
    assert mapped.client.get(MUTATIONS, {"status": "succeeded"}).json()["results"] == []
    by_connection = mapped.client.get(MUTATIONS, {"connection_id": str(mapped.connection.pk)}).json()
    assert [row["id"] for row in by_connection["results"]] == [mutation_id]
    assert mapped.client.get(MUTATIONS, {"connection_id": str(uuid.uuid4())}).json()["results"] == []

    shown = mapped.client.get(f"{MUTATIONS}/{mutation_id}")
    assert shown.status_code == 200
    detail = shown.json()
    assert detail["status"] == "failed" and detail["error_code"] == "vendor_unavailable"
    assert detail["connection_id"] == str(mapped.connection.pk) and detail["resource"] == "invoices"
    assert detail["request"]["reference"] == "RETRY-1"
    assert [(a["number"], a["vendor_status"], a["error_code"]) for a in detail["attempt_log"]] == [
        (1, 503, "vendor_unavailable")
    ]

    retried = mapped.client.post(f"{MUTATIONS}/{mutation_id}/retry")
    assert retried.status_code == 200, retried.json()
    assert retried.json()["status"] == "succeeded" and retried.json()["attempts"] == 2
    assert retried.json()["remote_id"] and retried.json()["outcome"]["reference"] == "RETRY-1"
    assert [a["vendor_status"] for a in retried.json()["attempt_log"]] == [503, 201]
    assert _invoices_with_reference(mapped, "RETRY-1") == 1

    again = mapped.client.post(f"{MUTATIONS}/{mutation_id}/retry")
    assert again.status_code == 409
    assert again.json()["code"] == "mutation_not_retryable"
    assert again.json()["mutation_id"] == mutation_id and again.json()["mutation_status"] == "succeeded"
    assert _invoices_with_reference(mapped, "RETRY-1") == 1


def test_an_in_doubt_write_is_looked_up_before_a_retry_and_never_sent_twice(
    mapped: Connected, first_customer_id: str
) -> None:
    mapped.world.control.add_fault(kind="drop_after_apply", pattern=SALES_INVOICES, method="POST", times=1)
    lost = mapped.client.post(
        mapped.url("invoices"), invoice_body(first_customer_id, reference="DOUBT-1"), format="json"
    )
    assert lost.status_code == 503 and lost.json()["mutation_status"] == "in_doubt"
    mutation_id = str(lost.json()["mutation_id"])
    assert [row["id"] for row in mapped.client.get(MUTATIONS, {"status": "in_doubt"}).json()["results"]] == [
        mutation_id
    ]

    early = mapped.client.post(f"{MUTATIONS}/{mutation_id}/retry")
    assert early.status_code == 409 and early.json()["code"] == "mutation_in_doubt", early.json()
    assert int(early.headers["Retry-After"]) >= 1
    Mutation.objects.filter(pk=mutation_id).update(reconcile_after=timezone.now())  # the settle time has passed
    mapped.world.control.reset_counters()

    retried = mapped.client.post(f"{MUTATIONS}/{mutation_id}/retry")

    assert retried.status_code == 200, retried.json()
    assert retried.json()["status"] == "succeeded"
    assert [a["error_code"] for a in retried.json()["attempt_log"]] == ["vendor_unavailable", "recovered"]
    assert _invoices_with_reference(mapped, "DOUBT-1") == 1, "the retry found the invoice instead of sending it"
    assert "201" not in mapped.calls().get("salesinvoice/SalesInvoices", {}), "looked up, not posted again"


def test_a_write_whose_sender_holds_its_lease_is_409_in_flight(mapped: Connected, first_customer_id: str) -> None:
    pending = services.mutation_create(
        workspace=mapped.connection.workspace,
        connection=mapped.connection,
        resource="invoices",
        operation="create",
        request=invoice_body(first_customer_id, reference="BUSY-1"),
    )
    busy = mapped.client.post(f"{MUTATIONS}/{pending.pk}/retry")
    assert busy.status_code == 409 and busy.json()["code"] == "mutation_in_flight", busy.json()
    assert busy.json()["mutation_id"] == str(pending.pk) and int(busy.headers["Retry-After"]) >= 1
    assert Mutation.objects.get(pk=pending.pk).status == MutationStatus.PENDING
    assert _invoices_with_reference(mapped, "BUSY-1") == 0


def test_another_workspaces_key_sees_none_of_them(mapped: Connected, first_customer_id: str) -> None:
    mutation_id = _failed_write(mapped, first_customer_id, "OTHER-1")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory().secret}")

    assert stranger.get(MUTATIONS).json()["results"] == []
    assert stranger.get(MUTATIONS, {"connection_id": str(mapped.connection.pk)}).json()["results"] == []
    for response in (stranger.get(f"{MUTATIONS}/{mutation_id}"), stranger.post(f"{MUTATIONS}/{mutation_id}/retry")):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Mutation.objects.get(pk=mutation_id).attempts == 1, "a stranger's retry sends nothing"
    assert _invoices_with_reference(mapped, "OTHER-1") == 0


def test_lists_page_with_a_cursor_and_refuse_bad_filters(mapped: Connected, first_customer_id: str) -> None:
    ids = [_failed_write(mapped, first_customer_id, f"PAGE-{n}") for n in range(3)]

    first = mapped.client.get(MUTATIONS, {"page_size": 2}).json()
    second = mapped.client.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == ids[::-1]
    assert second["next"] is None

    for params, field in (({"status": "lost"}, "status"), ({"connection_id": "nope"}, "connection_id")):
        refused = mapped.client.get(MUTATIONS, params)
        assert refused.status_code == 400, refused.json()
        assert refused.json()["errors"][0]["field"] == field
    assert mapped.client.get(f"{MUTATIONS}/not-a-uuid").status_code == 404
