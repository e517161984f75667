"""A read request's bookkeeping waits for its answer: batched per writer, written by the response's close(),
never deferred for a write or outside a request, and written anyway when the request fails."""

from __future__ import annotations

import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from gateway.after_response import defer_until_answered, deferring
from gateway.middleware import RequestIdMiddleware


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
