"""OData v2 as Exact serves it: the $filter parser (unit) and envelopes, paging, $select, Atom (over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest

from connectors.exact.sandbox.odata import (
    ODataError,
    evaluate,
    format_json_date,
    lower_bound,
    parse_datetime_value,
    parse_filter,
    to_wall,
)
from tests.connectors.exact.sandbox.data_fixtures import (
    ExactClient,
    exact_fixture,  # noqa: F401  (pytest fixture)
)

PROPS = {
    "Name": "Edm.String",
    "Code": "Edm.String",
    "ID": "Edm.Guid",
    "Created": "Edm.DateTime",
    "Timestamp": "Edm.Int64",
    "AmountFC": "Edm.Double",
    "Blocked": "Edm.Boolean",
}
RECORD = {
    "Name": "O'Brien Bakkerij",
    "Code": "                25",
    "ID": "8b1e0c36-2f4c-4a53-9a57-0d4f7c0b9e01",
    "Created": datetime(2024, 5, 1, 12, 0),
    "Timestamp": 500,
    "AmountFC": 121.5,
    "Blocked": False,
}


def matches(text: str, record: dict | None = None) -> bool:
    node = parse_filter(text, PROPS, "Exact.Web.Api.Models.Account")
    values = RECORD if record is None else record
    return bool(evaluate(node, values.get))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Name eq 'O''Brien Bakkerij'", True),
        ("trim(Code) eq '25'", True),
        ("Code eq '25'", False),
        ("Code eq '                25'", True),
        ("ID eq guid'8B1E0C36-2F4C-4A53-9A57-0D4F7C0B9E01'", True),
        ("Created ge datetime'2024-05-01T00:00:00' and Created lt datetime'2024-05-02'", True),
        ("Timestamp gt 499L", True),
        ("Timestamp gt 500L", False),
        ("AmountFC ge 121.5 and AmountFC le 121.50", True),
        ("AmountFC gt 100", True),
        ("Blocked eq false", True),
        ("not (Blocked eq false)", False),
        ("Name eq 'x' or (Timestamp ge 500L and Blocked eq false)", True),
        ("substringof('bakker', Name) eq true", True),
        ("substringof('bakker', Name)", True),
        ("startswith(Name, 'O''B')", True),
        ("endswith(Name, 'rij')", True),
        ("tolower(Name) eq 'o''brien bakkerij'", True),
        ("toupper(Name) eq 'O''BRIEN BAKKERIJ'", True),
        ("Name ne null", True),
        ("Name eq null", False),
    ],
)
def test_filter_expressions(expression: str, expected: bool) -> None:
    assert matches(expression) is expected


def test_null_fields_compare_like_sql() -> None:
    record = {**RECORD, "Name": None}
    assert matches("Name eq null", record)
    assert not matches("Name gt 'a'", record)
    assert not matches("substringof('x', Name)", record)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("Nope eq 1", "No property 'Nope' exists in type 'Exact.Web.Api.Models.Account'"),
        ("ID eq 'abc'", "Operator 'eq' incompatible with operand types 'System.Guid' and 'System.String'"),
        ("Name eq", "Expression expected"),
        ("(Name eq 'a'", "')' expected"),
        ("Name eq 'a' Code", "Syntax error"),
        ("Lines/AmountFC ge 5", "navigation property"),
        ("ID eq guid'not-a-guid'", "Unrecognized 'guid' literal"),
    ],
)
def test_filter_errors(expression: str, message: str) -> None:
    with pytest.raises(ODataError) as raised:
        parse_filter(expression, PROPS, "Exact.Web.Api.Models.Account")
    assert message in str(raised.value)


def test_timestamp_lower_bound_is_extracted_for_bisecting() -> None:
    node = parse_filter("Timestamp gt 10L and EntityType eq 2", {**PROPS, "EntityType": "Edm.Int32"}, "T")
    assert lower_bound(node, "Timestamp") == 10
    assert lower_bound(parse_filter("Timestamp ge 10L", PROPS, "T"), "Timestamp") == 9
    assert lower_bound(parse_filter("Timestamp gt 1L or Blocked eq true", PROPS, "T"), "Timestamp") is None


def test_dates_are_amsterdam_wall_clock_milliseconds() -> None:
    # 2024-07-01 10:00 UTC is 12:00 in Amsterdam (CEST); Exact encodes 12:00 as if it were UTC.
    wall = to_wall(datetime(2024, 7, 1, 10, 0, tzinfo=UTC))
    assert format_json_date(wall) == "/Date(1719835200000)/"
    assert parse_datetime_value("2024-07-01T12:00:00") == wall
    assert parse_datetime_value("2024-07-01T10:00:00Z") == wall
    assert parse_datetime_value("/Date(1719835200000)/") == wall
    # Winter time: CET is UTC+1.
    assert to_wall(datetime(2024, 1, 15, 9, 0, tzinfo=UTC)) == datetime(2024, 1, 15, 10, 0)


# ---------------------------------------------------------------------------------------------- over HTTP


# crm/Accounts has mandatory filtering: a list names a listed field; this filter keeps every account.
EVERY_ACCOUNT = {"$filter": "Blocked eq false"}


def _make_accounts(exact: ExactClient, count: int) -> None:
    for number in range(count):
        response = exact.post("crm/Accounts", {"Name": f"Klant {number:03d}", "City": "Zwolle"})
        assert response.status_code == 201, response.text


def test_collection_envelope_metadata_and_deferred_lines(exact: ExactClient) -> None:
    data = exact.get("salesinvoice/SalesInvoices").json()["d"]
    assert data == {"results": []}
    accounts = exact.get("crm/Accounts", EVERY_ACCOUNT).json()["d"]["results"]
    first = accounts[0]
    assert first["__metadata"]["type"] == "Exact.Web.Api.Models.Account"
    assert first["__metadata"]["uri"].startswith(exact.tenant.api_url("crm/Accounts(guid'"))
    # Every property is present; unset flags read false, unset values null.
    assert first["IsSupplier"] is False and first["Website"] is None
    assert len(first["Code"]) == 18 and first["Code"].strip().isdigit()
    assert first["Created"].startswith("/Date(")


def test_paging_60_with_next_link_repeating_select_and_filter(exact: ExactClient) -> None:
    _make_accounts(exact, 70)
    params = {"$select": "ID,Name", "$filter": "City eq 'Zwolle'"}
    first = exact.get("crm/Accounts", params).json()["d"]
    assert len(first["results"]) == 60
    next_url = first["__next"]
    assert next_url.startswith(exact.tenant.api_url("crm/Accounts?"))
    query = parse_qs(urlsplit(next_url).query)
    assert query["$select"] == ["ID,Name"]
    assert query["$filter"] == ["City eq 'Zwolle'"]
    assert query["$skiptoken"][0].startswith("guid'")
    rows, pages = exact.all_pages("crm/Accounts", params)
    assert pages == 2
    assert len(rows) == 70 == len({r["ID"] for r in rows})
    assert set(rows[0]) == {"__metadata", "ID", "Name"}


def test_top_returns_bare_array_and_inlinecount_restores_results(exact: ExactClient) -> None:
    bare = exact.get("crm/Accounts", {**EVERY_ACCOUNT, "$top": 2, "$select": "Name"}).json()["d"]
    assert isinstance(bare, list) and len(bare) == 2
    counted = exact.get(
        "crm/Accounts", {**EVERY_ACCOUNT, "$top": 1, "$inlinecount": "allpages", "$select": "Name"}
    ).json()["d"]
    assert counted["__count"] == 3 and len(counted["results"]) == 1


def test_top_above_page_size_is_capped_and_continues(exact: ExactClient) -> None:
    _make_accounts(exact, 70)
    data = exact.get("crm/Accounts", {**EVERY_ACCOUNT, "$top": 65, "$select": "ID"}).json()["d"]
    assert len(data["results"]) == 60
    assert "$top=5" in data["__next"]
    rest = exact.http.get(data["__next"], headers=exact.headers()).json()["d"]
    assert len(rest) == 5  # the last page of a $top query fits: bare array


def test_count_segment_is_plain_text(exact: ExactClient) -> None:
    response = exact.http.get(
        exact.tenant.api_url("crm/Accounts/$count"),
        params=EVERY_ACCOUNT,
        headers={"Authorization": exact.tenant.headers()["Authorization"]},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "3"
    filtered = exact.get("crm/Accounts/$count", {"$filter": "Country eq 'BE'"})
    assert filtered.text == "1"


def test_orderby_several_keys(exact: ExactClient) -> None:
    rows = exact.results("crm/Accounts", {**EVERY_ACCOUNT, "$select": "Name,Country", "$orderby": "Country desc,Name"})
    assert [r["Country"] for r in rows] == ["NL", "NL", "BE"]
    assert rows[0]["Name"] < rows[1]["Name"]


def test_select_and_filter_errors(exact: ExactClient) -> None:
    bad_select = exact.get("crm/Accounts", {**EVERY_ACCOUNT, "$select": "Nope"})
    assert bad_select.status_code == 400
    assert "No property 'Nope'" in bad_select.json()["error"]["message"]["value"]
    bad_filter = exact.get("crm/Accounts", {"$filter": "Nope eq 1"})
    assert bad_filter.status_code == 400
    bad_skip = exact.get("crm/Accounts", {**EVERY_ACCOUNT, "$skip": "-1"})
    assert bad_skip.status_code == 400
    unknown = exact.get("crm/Accounts", {**EVERY_ACCOUNT, "$foo": 1})
    assert unknown.status_code == 400


def test_trim_and_padded_code_filters(exact: ExactClient) -> None:
    assert len(exact.results("crm/Accounts", {"$filter": "trim(Code) eq '2'", "$select": "Name"})) == 1
    assert exact.results("crm/Accounts", {"$filter": "Code eq '2'", "$select": "Name"}) == []
    padded = "2".rjust(18)
    assert len(exact.results("crm/Accounts", {"$filter": f"Code eq '{padded}'", "$select": "Name"})) == 1


def test_single_entity_404_and_unknown_endpoint(exact: ExactClient) -> None:
    missing = exact.get("crm/Accounts(guid'00000000-0000-0000-0000-000000000042')")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"]["value"]
    assert exact.get("crm/Nope").status_code == 404
    assert exact.get("crm/Accounts(42)").status_code == 400


def test_method_not_allowed(exact: ExactClient) -> None:
    assert exact.post("cashflow/Receivables", {}).status_code == 405
    assert exact.delete("system/Divisions(1)").status_code == 405
    assert exact.post("sync/CRM/Accounts", {}).status_code == 405


def test_atom_without_accept_json(exact: ExactClient) -> None:
    response = exact.http.get(
        exact.tenant.api_url("crm/Accounts"),
        params={**EVERY_ACCOUNT, "$select": "Name,Blocked,Created", "$top": 1},
        headers={"Authorization": exact.tenant.headers()["Authorization"]},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    body = response.text
    assert "<feed" in body and "<m:properties>" in body
    assert '<d:Blocked m:type="Edm.Boolean">false</d:Blocked>' in body
    assert '<d:Created m:type="Edm.DateTime">2024-01-01T00:00:00</d:Created>' in body


def test_expand_lines_with_line_select(exact: ExactClient) -> None:
    items = exact.results("logistics/Items", {"$select": "ID", "$filter": "Code eq 'CONSULT'"})
    account = exact.results("crm/Accounts", {**EVERY_ACCOUNT, "$select": "ID", "$top": 1})[0]
    created = exact.post(
        "salesinvoice/SalesInvoices",
        {"OrderedBy": account["ID"], "SalesInvoiceLines": [{"Item": items[0]["ID"], "Quantity": 3}]},
    ).json()["d"]
    rows = exact.results(
        "salesinvoice/SalesInvoices",
        {"$select": "InvoiceID,SalesInvoiceLines/ItemCode,SalesInvoiceLines/AmountFC", "$expand": "SalesInvoiceLines"},
    )
    assert rows[0]["InvoiceID"] == created["InvoiceID"]
    lines = rows[0]["SalesInvoiceLines"]["results"]
    assert [{k: v for k, v in line.items() if k != "__metadata"} for line in lines] == [
        {"ItemCode": "CONSULT", "AmountFC": 285.0}
    ]
    without_expand = exact.get("salesinvoice/SalesInvoices", {"$select": "SalesInvoiceLines/ItemCode"})
    assert without_expand.status_code == 400
    deferred = exact.results("salesinvoice/SalesInvoices")[0]["SalesInvoiceLines"]["__deferred"]["uri"]
    navigated = exact.http.get(deferred, headers=exact.headers()).json()["d"]["results"]
    assert [line["LineNumber"] for line in navigated] == [1]


def test_skip_works_on_crud_sets(exact: ExactClient) -> None:
    """$skip is unsupported only on endpoints released after March 2017; CRUD sets are older
    (connectors/exact/NOTES.md: OData)."""
    _make_accounts(exact, 70)  # 73 accounts with the 3 defaults
    ids = [r["ID"] for r in exact.all_pages("crm/Accounts", {**EVERY_ACCOUNT, "$select": "ID"})[0]]
    skipped = exact.get("crm/Accounts", {**EVERY_ACCOUNT, "$select": "ID", "$skip": 5}).json()["d"]
    assert [r["ID"] for r in skipped["results"]] == ids[5:65]
    # The __next link continues with a $skiptoken and does not skip again.
    assert "$skip=" not in skipped["__next"]
    rest = exact.http.get(skipped["__next"], headers=exact.headers()).json()["d"]
    assert [r["ID"] for r in rest["results"]] == ids[65:]
    page = exact.get(
        "crm/Accounts", {**EVERY_ACCOUNT, "$select": "ID", "$skip": 10, "$top": 3, "$inlinecount": "allpages"}
    ).json()["d"]
    assert [r["ID"] for r in page["results"]] == ids[10:13] and page["__count"] == 73
    ordered = exact.results(
        "crm/Accounts", {**EVERY_ACCOUNT, "$select": "Name", "$orderby": "Name desc", "$skip": 1, "$top": 2}
    )
    names = sorted(
        (r["Name"] for r in exact.all_pages("crm/Accounts", {**EVERY_ACCOUNT, "$select": "Name"})[0]), reverse=True
    )
    assert [r["Name"] for r in ordered] == names[1:3]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("bulk/CRM/Accounts", {"$select": "ID", "$filter": "Blocked eq false"}),
        ("sync/CRM/Accounts", {"$select": "ID", "$filter": "Timestamp gt 1L"}),
        ("sync/Deleted", {"$select": "ID", "$filter": "Timestamp gt 1L"}),
    ],
)
def test_skip_is_refused_on_bulk_and_sync(exact: ExactClient, path: str, params: dict[str, str]) -> None:
    response = exact.get(path, {**params, "$skip": 1})
    assert response.status_code == 400
    assert "$skip" in response.json()["error"]["message"]["value"]
    assert exact.get(path, params).status_code == 200


MANDATORY_PREFIX = (
    "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter parameter "
    "with one of the following fields in the url:"
)


@pytest.mark.parametrize(
    ("path", "select", "listed", "unlisted"),
    [
        ("crm/Accounts", None, "Status eq 'C'", "Website eq null"),
        ("bulk/CRM/Accounts", "ID", "Status eq 'C'", "Website eq null"),
        ("logistics/Items", None, "Code eq 'CONSULT'", "Unit eq 'stuk'"),
        ("bulk/Logistics/Items", "ID", "Code eq 'CONSULT'", "Unit eq 'stuk'"),
    ],
)
def test_mandatory_filtering_on_accounts_and_items(
    exact: ExactClient, path: str, select: str | None, listed: str, unlisted: str
) -> None:
    base = {"$select": select} if select else {}
    for params in (base, {**base, "$filter": unlisted}, {**base, "$top": 1}):
        refused = exact.get(path, params)
        assert refused.status_code == 400, (path, params)
        message = refused.json()["error"]["message"]["value"]
        assert message.startswith(MANDATORY_PREFIX) and message.endswith(".")
        fields = message[len(MANDATORY_PREFIX) : -1].split(",")
        assert {"ID", "Code", "Created"} <= set(fields)
        assert unlisted.split()[0] not in fields
    assert exact.get(f"{path}/$count").status_code == 400
    served = exact.results(path, {**base, "$filter": listed})
    assert len(served) >= 1
    # A listed field inside a function or next to an unlisted one still counts.
    assert exact.get(path, {**base, "$filter": f"({unlisted}) or trim(Code) ne ''"}).status_code == 200
    if not path.startswith("bulk/"):
        # Fetching one record by key is not affected.
        key = served[0]["__metadata"]["uri"].rsplit("/", 1)[-1]
        assert exact.get(f"{path.split('/')[0]}/{key}").status_code == 200


def test_mandatory_filter_lists_exacts_fields_for_accounts(exact: ExactClient) -> None:
    message = exact.get("crm/Accounts").json()["error"]["message"]["value"]
    # The list Exact sends, verbatim (picqer#591).
    assert message == MANDATORY_PREFIX + (
        "Accountant,AccountManager,AddressLine1,AddressLine2,AddressLine3,Blocked,BRIN,BSN,ChamberOfCommerce,City,"
        "Classification1,Classification2,Classification3,Classification4,Classification5,Classification6,"
        "Classification7,Classification8,Classification,Code,CodeAtSupplier,Country,Created,Email,EndDate,Fax,ID,"
        "InvoiceAccount,IsAccountant,IsReseller,IsSales,IsSupplier,MainContact,Modified,Name,Parent,Phone,Postcode,"
        "PriceList,Reseller,RSIN,SearchCode,StartDate,Status,Type,VATNumber."
    )


def test_metadata_per_service_is_edmx(exact: ExactClient) -> None:
    response = exact.http.get(
        exact.tenant.api_url("crm/$metadata"), headers={"Authorization": exact.headers()["Authorization"]}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    edm = "{http://schemas.microsoft.com/ado/2008/09/edm}"
    types = {t.get("Name"): t for t in root.iter(f"{edm}EntityType")}
    assert {"Account", "Contact", "BankAccount"} <= set(types)
    account = types["Account"]
    assert account.find(f"{edm}Key/{edm}PropertyRef").get("Name") == "ID"
    properties = {p.get("Name"): p.get("Type") for p in account.iter(f"{edm}Property")}
    assert (
        properties["ID"] == "Edm.Guid" and properties["Name"] == "Edm.String" and properties["Blocked"] == "Edm.Boolean"
    )
    sets = {s.get("Name"): s.get("EntityType") for s in root.iter(f"{edm}EntitySet")}
    assert sets["Accounts"] == "Exact.Web.Api.Models.Account"
    sync = exact.http.get(exact.tenant.api_url("sync/CRM/$metadata"), headers=exact.headers())
    assert sync.status_code == 200 and b'Name="Timestamp"' in sync.content
    me = exact.http.get(f"{exact.tenant.base_url}/api/v1/current/$metadata", headers=exact.headers())
    assert me.status_code == 200 and b'Name="CurrentDivision"' in me.content
    assert exact.get("nothere/$metadata").status_code == 404
    assert exact.post("crm/$metadata", {}).status_code == 405


ATOM_INVOICE = """<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"
       xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
  <link rel="http://schemas.microsoft.com/ado/2007/08/dataservices/related/SalesInvoiceLines"
        type="application/atom+xml;type=feed" title="SalesInvoiceLines">
    <m:inline><feed>
      <entry><content type="application/xml"><m:properties>
        <d:Item m:type="Edm.Guid">{item}</d:Item><d:Quantity m:type="Edm.Double">2</d:Quantity>
        <d:Description>Via Atom</d:Description>
      </m:properties></content></entry>
    </feed></m:inline>
  </link>
  <content type="application/xml"><m:properties>
    <d:OrderedBy m:type="Edm.Guid">{customer}</d:OrderedBy>
    <d:YourRef>ATOM-1</d:YourRef>
    <d:Description m:null="true" />
  </m:properties></content>
</entry>"""


def test_post_with_an_atom_xml_body(exact: ExactClient) -> None:
    item = exact.results("logistics/Items", {"$select": "ID", "$filter": "Code eq 'CONSULT'"})[0]["ID"]
    customer = exact.results("crm/Accounts", {"$select": "ID", "$filter": "trim(Code) eq '1'"})[0]["ID"]
    body = ATOM_INVOICE.format(item=item, customer=customer)
    response = exact.http.post(
        exact.tenant.api_url("salesinvoice/SalesInvoices"),
        content=body.encode(),
        headers={**exact.headers(), "Content-Type": "application/atom+xml"},
    )
    assert response.status_code == 201, response.text
    created = response.json()["d"]
    assert created["YourRef"] == "ATOM-1" and created["AmountFCExclVat"] == 190.0
    lines = exact.results(f"salesinvoice/SalesInvoices(guid'{created['InvoiceID']}')/SalesInvoiceLines")
    assert [(line["Description"], line["Quantity"]) for line in lines] == [("Via Atom", 2.0)]
    # Answered in Atom when the client does not ask for JSON.
    atom = exact.http.post(
        exact.tenant.api_url("crm/Accounts"),
        content=b'<entry xmlns="http://www.w3.org/2005/Atom" '
        b'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
        b'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><content type="application/xml">'
        b"<m:properties><d:Name>Atom BV</d:Name><d:IsSupplier>true</d:IsSupplier></m:properties></content></entry>",
        headers={
            "Authorization": exact.headers()["Authorization"],
            "Content-Type": "application/atom+xml",
            "Prefer": "return=representation",
        },
    )
    assert atom.status_code == 201 and atom.headers["content-type"].startswith("application/atom+xml")
    assert (
        "<d:Name>Atom BV</d:Name>" in atom.text
        and '<d:IsSupplier m:type="Edm.Boolean">true</d:IsSupplier>' in atom.text
    )
    for broken in (b"<entry>not closed", b"<feed xmlns='http://www.w3.org/2005/Atom'/>"):
        refused = exact.http.post(
            exact.tenant.api_url("crm/Accounts"),
            content=broken,
            headers={**exact.headers(), "Content-Type": "application/atom+xml"},
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["message"]["value"].startswith("Error processing request stream")
