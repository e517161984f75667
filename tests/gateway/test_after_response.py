"""Work a request leaves until its answer was sent: a read's bookkeeping batched per writer, jobs of any request,
all run by the response's close(); nothing held outside a request, and run anyway when the request fails."""

from __future__ import annotations

import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from gateway.after_response import defer_until_answered, deferring, run_after_answer
from gateway.middleware import RequestIdMiddleware
from gateway.request_context import current_request_id


def test_nothing_is_deferred_outside_a_request() -> None:
    written: list[list[int]] = []
    assert defer_until_answered("rows", 1, written.append) is False
    assert written == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_write_request_defers_nothing(method: str) -> None:
    with deferring(method) as take:
        assert defer_until_answered("rows", 1, lambda rows: None) is False
        assert take() is None


def test_a_read_batches_each_writers_items_until_the_work_is_run() -> None:
    written: list[tuple[str, list[int]]] = []
    with deferring("GET") as take:
        for item in (1, 2, 3):
            assert defer_until_answered("a", item, lambda rows: written.append(("a", rows)))
        assert defer_until_answered("b", 9, lambda rows: written.append(("b", rows)))
        work = take()
        # After take() (the answer is on its way) nothing more is held: the caller writes at once.
        assert defer_until_answered("a", 4, lambda rows: written.append(("late", rows))) is False
    assert written == []  # not before the work runs
    assert work is not None
    work()
    assert written == [("a", [1, 2, 3]), ("b", [9])]


def test_a_failing_writer_is_logged_and_the_other_batches_are_still_written(caplog: pytest.LogCaptureFixture) -> None:
    written: list[list[int]] = []

    def broken(rows: list[int]) -> None:
        raise RuntimeError("database gone")

    with deferring("GET") as take:
        defer_until_answered("broken", 1, broken)
        defer_until_answered("fine", 2, written.append)
        work = take()
    assert work is not None
    with caplog.at_level(logging.ERROR, logger="gateway.after_response"):
        work()
    assert written == [[2]]
    assert "writing 1 deferred broken item(s) after the answer failed" in caplog.text


def test_work_of_a_request_that_raised_is_written_when_its_scope_ends() -> None:
    written: list[list[int]] = []
    with pytest.raises(ValueError), deferring("GET"):
        defer_until_answered("rows", 7, written.append)
        raise ValueError("the view failed")
    assert written == [[7]]


@pytest.mark.django_db
def test_the_middleware_leaves_a_reads_work_to_the_responses_close() -> None:
    written: list[list[str]] = []

    def view(request: HttpRequest) -> HttpResponse:
        defer_until_answered("rows", "call", written.append)
        return HttpResponse(b"answer")

    response = RequestIdMiddleware(view)(RequestFactory().get("/anything"))
    assert response.content == b"answer" and written == []  # the body is ready, the rows are not written yet
    response.close()  # what a WSGI server calls after sending the last byte
    assert written == [["call"]]


@pytest.mark.django_db
def test_the_middleware_writes_a_posts_work_at_once() -> None:
    written: list[list[str]] = []

    def view(request: HttpRequest) -> HttpResponse:
        if not defer_until_answered("rows", "call", written.append):
            written.append(["now"])
        return HttpResponse(b"answer")

    RequestIdMiddleware(view)(RequestFactory().post("/anything"))
    assert written == [["now"]]


def test_no_job_is_kept_outside_a_request() -> None:
    assert run_after_answer("job", lambda: None) is False


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_jobs_run_in_order_after_the_batches_and_a_failing_one_is_logged(
    method: str, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("database gone")

    with deferring(method) as take:
        assert run_after_answer("first job", lambda: ran.append("first"))
        assert run_after_answer("broken job", broken)
        assert run_after_answer("last job", lambda: ran.append("last"))
        defer_until_answered("rows", 1, lambda rows: ran.append("rows"))
        work = take()
        assert run_after_answer("late job", lambda: ran.append("late")) is False, "the answer is on its way"
    assert ran == [] and work is not None
    with caplog.at_level(logging.ERROR, logger="gateway.after_response"):
        work()
    assert ran == (["rows"] if method == "GET" else []) + ["first", "last"]
    assert "the broken job left until after the answer failed" in caplog.text


@pytest.mark.django_db
def test_a_writes_job_runs_at_close_in_the_requests_context_where_nothing_more_is_held() -> None:
    seen: list[tuple[str, bool]] = []

    def job() -> None:
        seen.append((current_request_id(), run_after_answer("nested", lambda: None)))

    def view(request: HttpRequest) -> HttpResponse:
        assert run_after_answer("job", job)
        return HttpResponse(b"created", status=201)

    response = RequestIdMiddleware(view)(RequestFactory().post("/anything", HTTP_X_REQUEST_ID="req-7"))
    assert response.status_code == 201 and seen == []
    response.close()
    assert seen == [("req-7", False)]
