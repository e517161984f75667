"""unified_models/query.py: the query parameters of the record endpoints, each bad one a 400 naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from gateway.api.problems import Problem
from unified_models import query


def _request(path: str) -> Request:
    return Request(APIRequestFactory().get(path))


def _refused(call, path: str) -> Problem:  # type: ignore[no-untyped-def]
    with pytest.raises(Problem) as refused:
        call(_request(path))
    assert refused.value.status_code == 400 and refused.value.problem_code == "validation_error"
    return refused.value


def test_include_takes_remote_data_once_and_nothing_else() -> None:
    assert query.include_remote_data(_request("/x")) is False
    assert query.include_remote_data(_request("/x?include=remote_data")) is True
    for path in ("/x?include=lines", "/x?include=remote_data&include=remote_data", "/x?include="):
        problem = _refused(query.include_remote_data, path)
        assert problem.errors and problem.errors[0]["field"] == "include"


@pytest.mark.parametrize(
    ("raw", "moment"),
    [
        ("2025-03-01", datetime(2025, 3, 1, tzinfo=UTC)),  # a date: its midnight, UTC
        ("2025-03-01T10:30:00", datetime(2025, 3, 1, 10, 30, tzinfo=UTC)),  # no zone: UTC
        ("2025-03-01T10:30:00Z", datetime(2025, 3, 1, 10, 30, tzinfo=UTC)),
        ("2025-03-01T10:30:00+02:00", datetime(2025, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_updated_after_is_an_aware_moment(raw: str, moment: datetime) -> None:
    parsed = query.updated_after(Request(APIRequestFactory().get("/x", {"updated_after": raw})))
    assert parsed == moment and parsed is not None and parsed.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize("raw", ["", "yesterday", "2025-02-30", "2025-13-01T00:00:00Z", "1741000000"])
def test_a_bad_updated_after_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(Problem) as refused:
        query.updated_after(Request(APIRequestFactory().get("/x", {"updated_after": raw})))
    assert refused.value.errors and refused.value.errors[0]["field"] == "updated_after"


def test_no_updated_after_means_no_filter() -> None:
    assert query.updated_after(_request("/x")) is None


def test_list_filters_keep_only_known_names_and_refuse_an_empty_one() -> None:
    assert query.list_filters(_request("/x?contact_id=42&colour=red"), ("contact_id", "status")) == {"contact_id": "42"}
    problem = _refused(lambda request: query.list_filters(request, ("contact_id", "status")), "/x?status=")
    assert problem.errors and problem.errors[0]["field"] == "status"


def test_dry_run_and_read_mode_take_their_literal_values_only() -> None:
    assert query.dry_run(_request("/x")) is False
    assert query.dry_run(_request("/x?dry_run=true")) is True
    assert query.dry_run(_request("/x?dry_run=false")) is False
    _refused(query.dry_run, "/x?dry_run=1")
    assert query.read_mode(_request("/x")) == query.STORE
    assert query.read_mode(_request("/x?mode=live")) == query.LIVE
    for path in ("/x?mode=cache", "/x?mode=live&mode=store", "/x?mode="):
        problem = _refused(query.read_mode, path)
        assert problem.errors and problem.errors[0]["field"] == "mode"
