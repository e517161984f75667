"""OData query building and literals for Exact, and __next paging over the sandbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from connectors.base.errors import VendorError
from connectors.exact.calls import DivisionApi
from connectors.exact.client import ExactClient
from connectors.exact.odata import (
    Guid,
    Int64,
    ODataQuery,
    ODataQueryError,
    Page,
    and_,
    code_eq,
    eq,
    follow_pages,
    ge,
    gt,
    le,
    literal,
    lt,
    ne,
    or_,
    substringof,
    trim,
    unwrap_entity,
    unwrap_page,
)
from connectors.exact.resources import EVERY_RECORD
from connectors.registry import get_connector
from tests.connectors.exact.client_fixtures import (  # noqa: F401  (pytest fixtures)
    DIVISION,
    TokenContext,
    access_token_fixture,
    exact_client_fixture,
    rate_limiter_fixture,
)
from tests.fixtures.exact import ExactWorld


def _division_api(world: ExactWorld, access_token: str) -> tuple[DivisionApi, TokenContext]:
    """The division's API as the connector uses it, with the call context reduced to one token."""
    ctx = TokenContext(access_token=access_token, app_client_id=world.client_id)
    return DivisionApi(base_url=get_connector("exact").region("nl").base_url, ctx=ctx), ctx


# ---------------------------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bakkerij", "'Bakkerij'"),
        ("'t Hoekje", "'''t Hoekje'"),
        ("O''Brien", "'O''''Brien'"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (42, "42"),
        (Int64(1234), "1234L"),
        (Decimal("12.50"), "12.50M"),
        (UUID("12345678-aaaa-bbbb-cccc-ddddeeeeffff"), "guid'12345678-aaaa-bbbb-cccc-ddddeeeeffff'"),
        (Guid("12345678-AAAA-bbbb-cccc-ddddeeeeffff"), "guid'12345678-aaaa-bbbb-cccc-ddddeeeeffff'"),
        (date(2017, 5, 31), "datetime'2017-05-31T00:00:00'"),
        # Naive datetimes are taken as Exact wall-clock time already.
        (datetime(2017, 5, 31, 8, 30, 15, 999), "datetime'2017-05-31T08:30:15'"),
        # Aware ones become Amsterdam wall-clock time (CEST in May, CET in January), no offset in the literal.
        (datetime(2017, 5, 31, 6, 30, tzinfo=UTC), "datetime'2017-05-31T08:30:00'"),
        (datetime(2024, 1, 15, 23, 30, tzinfo=UTC), "datetime'2024-01-16T00:30:00'"),
    ],
)
def test_literals(value: Any, expected: str) -> None:
    assert literal(value) == expected


def test_unsafe_literals_are_refused() -> None:
    with pytest.raises(ValueError):
        literal(Guid("12345678' or 1 eq 1 or ID eq guid'"))
    with pytest.raises(ODataQueryError):
        literal(1.1)
    with pytest.raises(ODataQueryError):
        literal(Decimal("NaN"))
    with pytest.raises(ODataQueryError):
        literal(object())


# ---------------------------------------------------------------------------------------------- expressions


def test_comparisons_and_combinations() -> None:
    modified = ge("Modified", datetime(2024, 3, 1))
    assert str(modified) == "Modified ge datetime'2024-03-01T00:00:00'"
    assert str(eq("Name", "De Vries")) == "Name eq 'De Vries'"
    assert str(ne("Status", "C")) == "Status ne 'C'"
    assert str(gt("Timestamp", Int64(99))) == "Timestamp gt 99L"
    assert str(lt("AmountDC", Decimal("10"))) == "AmountDC lt 10M"
    assert str(le("ID", UUID(int=1))) == "ID le guid'00000000-0000-0000-0000-000000000001'"
    assert str(modified & eq("Status", "C")) == "(Modified ge datetime'2024-03-01T00:00:00') and (Status eq 'C')"
    assert str(or_(eq("City", "Utrecht"), eq("City", "Breda"))) == "(City eq 'Utrecht') or (City eq 'Breda')"
    assert str(and_(eq("City", "Utrecht"))) == "City eq 'Utrecht'"
    assert str(substringof("Korst", "Name")) == "substringof('Korst',Name) eq true"


def test_padded_codes() -> None:
    # crm/Accounts.Code is 18 characters with leading spaces (connectors/exact/NOTES.md: OData).
    assert str(code_eq("Code", "25")) == "Code eq '                25'"
    assert str(eq(trim("Code"), "25")) == "trim(Code) eq '25'"


def test_property_names_are_checked() -> None:
    for bad in ("Name eq 'x' or 1", "", "Name)", "a b"):
        with pytest.raises(ODataQueryError):
            eq(bad, "x")


# ---------------------------------------------------------------------------------------------- query


def test_query_always_selects() -> None:
    query = ODataQuery(
        select=["ID", "Code", "Name"],
        filter=eq("Status", "C"),
        top=10,
        orderby=["Code desc"],
        expand=["SalesInvoiceLines"],
        inlinecount=True,
    )
    assert query.params() == {
        "$select": "ID,Code,Name",
        "$filter": "Status eq 'C'",
        "$top": "10",
        "$orderby": "Code desc",
        "$expand": "SalesInvoiceLines",
        "$inlinecount": "allpages",
    }
    assert ODataQuery(select=["InvoiceID", "SalesInvoiceLines/AmountFC"]).params()["$select"] == (
        "InvoiceID,SalesInvoiceLines/AmountFC"
    )
    for select in ([], ["*"], ["ID", ""]):
        with pytest.raises(ODataQueryError):
            ODataQuery(select=select).params()
    with pytest.raises(ODataQueryError):
        ODataQuery(select=["ID"], orderby="Code sideways").params()


# ---------------------------------------------------------------------------------------------- envelopes


def test_envelopes() -> None:
    assert unwrap_page({"d": [{"ID": 1}]}) == Page([{"ID": 1}], None)
    assert unwrap_page({"d": {"results": [{"ID": 1}], "__next": "https://x/next", "__count": "7"}}) == Page(
        [{"ID": 1}], "https://x/next", 7
    )
    assert unwrap_entity({"d": {"ID": 1}}) == {"ID": 1}
    assert unwrap_entity({"d": {"results": [{"ID": 1}]}}) == {"ID": 1}
    for bad in ({}, {"d": "x"}, [], {"error": {}}):
        with pytest.raises(VendorError):
            unwrap_page(bad)
    with pytest.raises(VendorError):
        unwrap_entity({"d": []})


def test_follow_pages_stops_on_a_repeated_next() -> None:
    pages = {"a": {"d": {"results": [1], "__next": "b"}}, "b": {"d": {"results": [2], "__next": "a"}}}
    with pytest.raises(VendorError):
        list(follow_pages(lambda: pages["a"], lambda url: pages[url]))


# ---------------------------------------------------------------------------------------------- over the sandbox


def test_paging_follows_next_until_absent(exact_world: ExactWorld, access_token: str) -> None:
    exact_world.control.seed(DIVISION, accounts=150, seed=7)
    api, ctx = _division_api(exact_world, access_token)
    query = ODataQuery(select=["ID", "Code", "Name"], filter=EVERY_RECORD)
    pages = list(api.pages("crm/Accounts", query))
    sizes = [len(page.records) for page in pages]
    assert len(pages) >= 3 and all(size == 60 for size in sizes[:-1]) and 0 < sizes[-1] <= 60
    ids = [record["ID"] for page in pages for record in page.records]
    assert len(ids) == len(set(ids)) >= 150
    assert set(pages[0].records[0]) <= {"ID", "Code", "Name", "__metadata"}
    # One call per page, in order, each to the division's own URL; the __next links kept $select.
    assert [call.path for call in ctx.calls] == ["crm/Accounts"] * len(pages)
    assert all(call.status == 200 and call.company_id == str(DIVISION) for call in ctx.calls)
    assert "$select=ID,Code,Name" in (pages[0].next_url or "").replace("%2C", ",")


def test_top_without_inlinecount_is_a_bare_list(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    body = exact_client.get(
        "crm/Accounts",
        division=DIVISION,
        token_provider=lambda: access_token,
        query=ODataQuery(select=["ID"], filter=EVERY_RECORD, top=2),
    )
    assert isinstance(body["d"], list) and len(body["d"]) == 2
    api, _ = _division_api(exact_world, access_token)
    pages = list(api.pages("crm/Accounts", ODataQuery(select=["ID"], filter=EVERY_RECORD, top=2, inlinecount=True)))
    assert len(pages) == 1 and len(pages[0].records) == 2 and (pages[0].count or 0) >= 2


def test_filters_run_on_the_sandbox(exact_world: ExactWorld, access_token: str) -> None:
    api, _ = _division_api(exact_world, access_token)

    def codes(filter_: Any) -> list[str]:
        query = ODataQuery(select=["Code", "Name"], filter=filter_)
        return [r["Code"] for r in api.records("crm/Accounts", query)]

    assert [code.strip() for code in codes(code_eq("Code", "2"))] == ["2"]
    assert [code.strip() for code in codes(eq(trim("Code"), "2"))] == ["2"]
    assert codes(eq("Code", "2")) == []  # unpadded: Exact matches nothing
    account = api.entity(
        "crm/Accounts", ODataQuery(select=["ID", "Name", "Modified"], filter=code_eq("Code", "2"), top=1)
    )
    by_id = codes(eq("ID", UUID(account["ID"])))
    assert [code.strip() for code in by_id] == ["2"]
    assert codes(ge("Modified", datetime(2100, 1, 1)) & eq("Name", account["Name"])) == []
    assert "2" in [code.strip() for code in codes(or_(eq("Name", account["Name"]), eq("Name", "it's nobody")))]


def test_next_links_never_take_the_token_to_another_host() -> None:
    """The bearer token only goes to this division's URLs, whatever a __next link says: only its $skiptoken is
    used, on the division's own URL."""
    seen: list[str] = []
    evil = "https://evil.example/api/v1/101/x?$skiptoken=guid'0f0f0f0f-0000-4000-8000-000000000000'"

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        next_url = evil if len(seen) == 1 else "https://evil.example/api/v1/101/x"  # the second has no skiptoken
        return httpx.Response(200, json={"d": {"results": [{"ID": len(seen)}], "__next": next_url}})

    api = DivisionApi(base_url="https://start.exactonline.nl", ctx=TokenContext(access_token="t", app_client_id=""))
    api.client = ExactClient(
        base_url="https://start.exactonline.nl", http=httpx.Client(transport=httpx.MockTransport(answer))
    )
    pages = api.pages("crm/Accounts", ODataQuery(select=["ID"]))
    assert next(pages).records == [{"ID": 1}]
    assert next(pages).records == [{"ID": 2}]
    with pytest.raises(ValueError, match="skiptoken"):
        next(pages)  # a __next link without a usable $skiptoken is not followed at all
    assert seen == [
        "https://start.exactonline.nl/api/v1/101/crm/Accounts?%24select=ID",
        "https://start.exactonline.nl/api/v1/101/crm/Accounts?%24select=ID"
        "&%24skiptoken=guid%270f0f0f0f-0000-4000-8000-000000000000%27",
    ]
