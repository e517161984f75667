"""Accounting API reads over HTTP: envelope, dates, XML, paging, where/order, If-Modified-Since, fast filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl, SandboxControlError
from tests.connectors.xero.sandbox.conftest import Tenant, authorize, exchange_code

MS_DATE = re.compile(r"^/Date\(\d+\+0000\)/$")


@pytest.fixture
def seeded(connected: Tenant, control: SandboxControl) -> Tenant:
    control.seed(connected.tenant_id, contacts=120, invoices=130, lines_per_invoice=2, payments=5, seed=42)
    return connected


def test_envelope_and_correlation_id(seeded: Tenant, http: httpx.Client) -> None:
    response = http.get(seeded.api("Invoices"), headers=seeded.headers())
    body = response.json()
    assert body["Status"] == "OK"
    assert body["Id"] == response.headers["Xero-Correlation-Id"]
    assert body["ProviderName"] == "Ledgerbridge test"
    assert re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"])
    assert response.headers["Cache-Control"] == "max-age=0, no-cache, no-store"
    invoice = body["Invoices"][0]
    assert MS_DATE.match(invoice["Date"]) and MS_DATE.match(invoice["UpdatedDateUTC"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00", invoice["DateString"])


def test_xml_is_the_default_without_accept_json(seeded: Tenant, http: httpx.Client) -> None:
    headers = seeded.headers()
    del headers["Accept"]
    response = http.get(seeded.api("Contacts"), headers=headers, params={"page": 1})
    assert response.headers["Content-Type"].startswith("text/xml")
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<Response>')
    assert "<Status>OK</Status>" in response.text and "<Contacts><Contact>" in response.text


def test_pages_of_100_with_line_items_and_pagination(seeded: Tenant, http: httpx.Client) -> None:
    first = http.get(seeded.api("Invoices"), params={"page": 1}, headers=seeded.headers()).json()
    second = http.get(seeded.api("Invoices"), params={"page": 2}, headers=seeded.headers()).json()
    past = http.get(seeded.api("Invoices"), params={"page": 3}, headers=seeded.headers()).json()
    assert (len(first["Invoices"]), len(second["Invoices"]), past["Invoices"]) == (100, 30, [])
    assert first["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 2, "itemCount": 130}
    assert len(first["Invoices"][0]["LineItems"]) == 2
    ids = {i["InvoiceID"] for i in first["Invoices"]} | {i["InvoiceID"] for i in second["Invoices"]}
    assert len(ids) == 130


def test_a_list_without_page_has_no_line_items_and_no_pagination(seeded: Tenant, http: httpx.Client) -> None:
    body = http.get(seeded.api("Invoices"), headers=seeded.headers()).json()
    assert len(body["Invoices"]) == 130
    assert "pagination" not in body
    assert all("LineItems" not in invoice for invoice in body["Invoices"])
    one = http.get(seeded.api(f"Invoices/{body['Invoices'][0]['InvoiceID']}"), headers=seeded.headers()).json()
    assert len(one["Invoices"]) == 1 and len(one["Invoices"][0]["LineItems"]) == 2


def test_page_size_up_to_1000(seeded: Tenant, http: httpx.Client) -> None:
    body = http.get(seeded.api("Contacts"), params={"page": 2, "pageSize": 50}, headers=seeded.headers()).json()
    assert body["pagination"] == {"page": 2, "pageSize": 50, "pageCount": 3, "itemCount": 120}
    too_big = http.get(seeded.api("Contacts"), params={"page": 1, "pageSize": 1001}, headers=seeded.headers())
    assert too_big.status_code == 400
    assert too_big.json()["Type"] == "ValidationException"
    bad_page = http.get(seeded.api("Contacts"), params={"page": 0}, headers=seeded.headers())
    assert bad_page.status_code == 400


def test_items_are_not_paged(connected: Tenant, http: httpx.Client) -> None:
    first = http.get(connected.api("Items"), params={"page": 1}, headers=connected.headers()).json()
    again = http.get(connected.api("Items"), params={"page": 2}, headers=connected.headers()).json()
    assert first["Items"] == again["Items"] and len(first["Items"]) == 3
    assert "pagination" not in first


def test_summary_only_drops_heavy_fields(seeded: Tenant, http: httpx.Client) -> None:
    body = http.get(seeded.api("Invoices"), params={"page": 1, "summaryOnly": "true"}, headers=seeded.headers()).json()
    assert all("LineItems" not in i and "Payments" not in i for i in body["Invoices"])


@pytest.mark.parametrize(
    ("where", "check"),
    [
        ('Type=="ACCREC"', lambda i: i["Type"] == "ACCREC"),
        ('Type == "ACCPAY" AND Status != "DRAFT"', lambda i: i["Type"] == "ACCPAY" and i["Status"] != "DRAFT"),
        ('Status=="PAID"||Status=="DRAFT"', lambda i: i["Status"] in ("PAID", "DRAFT")),
        ("Date >= DateTime(2024, 06, 01) && Date < DateTime(2024,07,01)", lambda i: "2024-06" in i["DateString"]),
        ("Total > 1000", lambda i: i["Total"] > 1000),
        ('Reference.StartsWith("SEED-42-1")', lambda i: i["Reference"].startswith("SEED-42-1")),
        ('Reference.contains("-42-12")', lambda i: "-42-12" in i["Reference"]),
        ('(Type=="ACCREC" OR Type=="ACCPAY") AND NOT (Status=="DRAFT")', lambda i: i["Status"] != "DRAFT"),
        ("Reference != null", lambda i: True),
        ('Reference.ToLower()=="seed-42-7"', lambda i: i["Reference"] == "SEED-42-7"),
    ],
)
def test_where_filters(seeded: Tenant, http: httpx.Client, where: str, check) -> None:
    everything = http.get(seeded.api("Invoices"), headers=seeded.headers()).json()["Invoices"]
    filtered = http.get(seeded.api("Invoices"), params={"where": where}, headers=seeded.headers())
    assert filtered.status_code == 200, filtered.text
    expected = sorted(i["InvoiceID"] for i in everything if check(i))
    assert expected, "the seed should match something"
    assert sorted(i["InvoiceID"] for i in filtered.json()["Invoices"]) == expected


def test_where_on_nested_fields_and_guids(seeded: Tenant, http: httpx.Client) -> None:
    invoice = http.get(seeded.api("Invoices"), headers=seeded.headers()).json()["Invoices"][0]
    contact_id = invoice["Contact"]["ContactID"]
    for where in (
        f'Contact.ContactID==Guid("{contact_id}")',
        f'Contact.ContactID==GUID("{contact_id}")',
        f'Contact.ContactID=="{contact_id}"',
        f'Contact.Name=="{invoice["Contact"]["Name"]}"',
    ):
        found = http.get(seeded.api("Invoices"), params={"where": where}, headers=seeded.headers()).json()
        assert found["Invoices"] and all(i["Contact"]["ContactID"] == contact_id for i in found["Invoices"])


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ('Colour=="red"', "No property or field 'Colour' exists in type 'Invoice'"),
        ('Total=="lots"', "Operator '==' incompatible with operand types 'Decimal' and 'String'"),
        ('Date > "2024-01-01"', "Operator '>' incompatible with operand types 'DateTime' and 'String'"),
        ('Reference.Matches("x")', "No applicable method 'Matches' exists in type 'String'"),
        ('Type=="ACCREC" AND', "Expression expected"),
        ("Type==ACCREC", "No property or field 'ACCREC' exists in type 'Invoice'"),
        ('Contact.ContactID==Guid("nope")', "'\"nope\"' is not a valid Guid"),
    ],
)
def test_unsupported_where_is_refused_not_ignored(seeded: Tenant, http: httpx.Client, where: str, message: str) -> None:
    response = http.get(seeded.api("Invoices"), params={"where": where}, headers=seeded.headers())
    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"]) == (16, "QueryParseException")
    assert body["Message"] == message


def test_order(seeded: Tenant, http: httpx.Client) -> None:
    body = http.get(seeded.api("Invoices"), params={"order": "Total DESC"}, headers=seeded.headers()).json()
    totals = [i["Total"] for i in body["Invoices"]]
    assert totals == sorted(totals, reverse=True)
    by_two = http.get(
        seeded.api("Contacts"), params={"order": "FirstName, Name DESC"}, headers=seeded.headers()
    ).json()["Contacts"]
    keys = [(c["FirstName"], c["Name"]) for c in by_two]
    assert keys == sorted(keys, key=lambda k: (k[0], [-ord(ch) for ch in k[1]]))
    bad = http.get(seeded.api("Invoices"), params={"order": "Colour"}, headers=seeded.headers())
    assert bad.json()["Type"] == "QueryParseException"
    sideways = http.get(seeded.api("Invoices"), params={"order": "Total SIDEWAYS"}, headers=seeded.headers())
    assert sideways.status_code == 400


def test_if_modified_since_in_every_format_clients_send(
    seeded: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.advance_clock(120)
    marker = datetime.fromisoformat(control.now())
    contact = http.get(seeded.api("Contacts"), headers=seeded.headers()).json()["Contacts"][0]
    updated = http.post(
        seeded.api(f"Contacts/{contact['ContactID']}"),
        headers=seeded.headers(),
        json={"Contacts": [{"ContactID": contact["ContactID"], "LastName": "Changed"}]},
    )
    assert updated.status_code == 200
    since = marker - timedelta(seconds=1)
    for header in (
        since.isoformat(),
        since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        format_datetime(since.astimezone(UTC), usegmt=True),
        '"' + since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + '"',
    ):
        changed = http.get(seeded.api("Contacts"), headers={**seeded.headers(), "If-Modified-Since": header}).json()
        assert [c["ContactID"] for c in changed["Contacts"]] == [contact["ContactID"]], header
    # Nothing changed since: 200 with an empty list, never 304 (NOTES.md "If-Modified-Since").
    future = (marker + timedelta(hours=1)).isoformat()
    nothing = http.get(seeded.api("Invoices"), headers={**seeded.headers(), "If-Modified-Since": future})
    assert (nothing.status_code, nothing.json()["Invoices"]) == (200, [])
    # TaxRates do not support it and return everything.
    rates = http.get(seeded.api("TaxRates"), headers={**seeded.headers(), "If-Modified-Since": future}).json()
    assert len(rates["TaxRates"]) == 9


def test_contact_flags_do_not_bump_updated_date(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    contact = http.put(
        connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "Flag Test"}]}
    ).json()["Contacts"][0]
    assert contact["IsCustomer"] is False
    control.advance_clock(60)
    http.put(
        connected.api("Invoices"),
        headers=connected.headers(),
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}],
                }
            ]
        },
    )
    after = http.get(connected.api(f"Contacts/{contact['ContactID']}"), headers=connected.headers()).json()
    assert after["Contacts"][0]["IsCustomer"] is True
    assert after["Contacts"][0]["UpdatedDateUTC"] == contact["UpdatedDateUTC"]


def test_fast_filters_ids_statuses_numbers_search(seeded: Tenant, http: httpx.Client) -> None:
    invoices = http.get(seeded.api("Invoices"), headers=seeded.headers()).json()["Invoices"]
    two = [invoices[0]["InvoiceID"], invoices[5]["InvoiceID"].replace("-", "")]
    by_ids = http.get(seeded.api("Invoices"), params={"IDs": ",".join(two)}, headers=seeded.headers()).json()
    assert {i["InvoiceID"] for i in by_ids["Invoices"]} == {invoices[0]["InvoiceID"], invoices[5]["InvoiceID"]}
    paid = http.get(seeded.api("Invoices"), params={"Statuses": "PAID"}, headers=seeded.headers()).json()
    assert len(paid["Invoices"]) == 5
    numbered = [i for i in invoices if i.get("InvoiceNumber")][:2]
    by_number = http.get(
        seeded.api("Invoices"),
        params={"InvoiceNumbers": ",".join(i["InvoiceNumber"] for i in numbered)},
        headers=seeded.headers(),
    ).json()
    assert len(by_number["Invoices"]) == 2
    contact = http.get(seeded.api("Contacts"), headers=seeded.headers()).json()["Contacts"][0]
    found = http.get(
        seeded.api("Contacts"), params={"searchTerm": contact["Name"].upper()}, headers=seeded.headers()
    ).json()
    assert [c["ContactID"] for c in found["Contacts"]] == [contact["ContactID"]]
    bad = http.get(seeded.api("Invoices"), params={"IDs": "nope"}, headers=seeded.headers())
    assert bad.status_code == 400


def test_created_by_my_app(seeded: Tenant, http: httpx.Client) -> None:
    http.put(
        seeded.api("Invoices"),
        headers=seeded.headers(),
        json={
            "Invoices": [
                {
                    "Type": "ACCPAY",
                    "Contact": {"Name": "Mine Ltd"},
                    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10, "AccountCode": "429"}],
                }
            ]
        },
    )
    mine = http.get(seeded.api("Invoices"), params={"createdByMyApp": "true"}, headers=seeded.headers()).json()
    assert [i["Contact"]["Name"] for i in mine["Invoices"]] == ["Mine Ltd"]


def test_archived_contacts_need_include_archived(seeded: Tenant, http: httpx.Client) -> None:
    contact = http.get(seeded.api("Contacts"), headers=seeded.headers()).json()["Contacts"][0]
    archived = http.post(
        seeded.api(f"Contacts/{contact['ContactID']}"), headers=seeded.headers(), json={"ContactStatus": "ARCHIVED"}
    )
    assert archived.json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    default = http.get(seeded.api("Contacts"), headers=seeded.headers()).json()["Contacts"]
    assert contact["ContactID"] not in {c["ContactID"] for c in default}
    included = http.get(seeded.api("Contacts"), params={"includeArchived": "true"}, headers=seeded.headers())
    assert contact["ContactID"] in {c["ContactID"] for c in included.json()["Contacts"]}
    # By id it is still found.
    assert http.get(seeded.api(f"Contacts/{contact['ContactID']}"), headers=seeded.headers()).status_code == 200


def test_get_by_number_or_code_and_plain_text_404(seeded: Tenant, http: httpx.Client) -> None:
    number = next(
        i
        for i in http.get(seeded.api("Invoices"), headers=seeded.headers()).json()["Invoices"]
        if i.get("InvoiceNumber")
    )["InvoiceNumber"]
    assert (
        http.get(seeded.api(f"Invoices/{number}"), headers=seeded.headers()).json()["Invoices"][0]["InvoiceNumber"]
        == number
    )
    assert http.get(seeded.api("Items/CONSULT"), headers=seeded.headers()).json()["Items"][0]["Code"] == "CONSULT"
    assert (
        http.get(seeded.api("TaxRates/OUTPUT2"), headers=seeded.headers()).json()["TaxRates"][0]["Name"]
        == "20% (VAT on Income)"
    )
    missing = http.get(seeded.api("Invoices/00000000-0000-0000-0000-000000000000"), headers=seeded.headers())
    assert (missing.status_code, missing.text) == (404, "The resource you're looking for cannot be found")
    assert missing.headers["Content-Type"].startswith("text/plain")
    unknown_route = http.get(seeded.api("Spaceships"), headers=seeded.headers())
    assert unknown_route.status_code == 404


def test_paths_are_case_insensitive_and_allow_trailing_slashes(seeded: Tenant, http: httpx.Client) -> None:
    for path in ("contacts", "CONTACTS/", "Contacts/"):
        assert http.get(seeded.api(path), headers=seeded.headers()).status_code == 200
    assert (
        http.get(seeded.api("Organisations"), headers=seeded.headers()).json()["Organisations"][0]["OrganisationID"]
        == seeded.tenant_id
    )


def test_organisation_fields(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.organisation_settings(connected.tenant_id, period_lock_date="2024-03-31")
    org = http.get(connected.api("Organisation"), headers=connected.headers()).json()["Organisations"][0]
    assert (org["OrganisationID"], org["Name"], org["BaseCurrency"], org["CountryCode"], org["Version"]) == (
        connected.tenant_id,
        "Demo Company (UK)",
        "GBP",
        "GB",
        "UK",
    )
    assert org["PeriodLockDate"] == "/Date(1711843200000+0000)/"
    not_implemented = http.post(connected.api("Organisation"), headers=connected.headers(), json={})
    assert not_implemented.status_code == 501
    assert "<Message>The Api Method called is not implemented</Message>" in not_implemented.text


def test_organisation_profile_as_the_organisation_sets_it(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    org = http.get(connected.api("Organisation"), headers=connected.headers()).json()["Organisations"][0]
    # A new UK organisation's year ends on 31 March; no tax or registration number until one is entered.
    assert (org["FinancialYearEndDay"], org["FinancialYearEndMonth"], org["LegalName"]) == (31, 3, org["Name"])
    assert "TaxNumber" not in org and "RegistrationNumber" not in org

    control.organisation_settings(
        connected.tenant_id,
        name="Golden Crust",
        legal_name="Golden Crust Bakery Ltd",
        tax_number="GB 123 4567 89",
        registration_number="01234567",
        financial_year_end=(31, 12),
    )
    org = http.get(connected.api("organisations/"), headers=connected.headers()).json()["Organisations"][0]
    assert (org["Name"], org["LegalName"], org["TaxNumber"], org["RegistrationNumber"]) == (
        "Golden Crust",
        "Golden Crust Bakery Ltd",
        "GB 123 4567 89",
        "01234567",
    )
    assert (org["FinancialYearEndDay"], org["FinancialYearEndMonth"]) == (31, 12)
    # The connections show the new name too.
    names = {
        row["tenantId"]: row["tenantName"]
        for row in http.get(
            connected.server.root_url + "/connections", headers={"Authorization": connected.headers()["Authorization"]}
        ).json()
    }
    assert names[connected.tenant_id] == "Golden Crust"
    with pytest.raises(SandboxControlError, match="no such day"):
        control.organisation_settings(connected.tenant_id, financial_year_end=(31, 4))


def test_missing_scope_is_401_authorization_unsuccessful(tenant: Tenant, http: httpx.Client) -> None:
    tenant.tokens = exchange_code(
        http, tenant, authorize(http, tenant, scope="offline_access accounting.contacts.read")
    ).json()
    assert http.get(tenant.api("Contacts"), headers=tenant.headers()).status_code == 200
    for method, path in (("GET", "Invoices"), ("GET", "Accounts"), ("PUT", "Contacts")):
        response = http.request(method, tenant.api(path), headers=tenant.headers(), json={"Name": "x"})
        assert response.status_code == 401, path
        assert response.json()["Detail"] == "AuthorizationUnsuccessful"


def test_granular_scopes_are_honoured(tenant: Tenant, http: httpx.Client) -> None:
    tenant.tokens = exchange_code(http, tenant, authorize(http, tenant, scope="accounting.invoices.read")).json()
    # accounting.invoices covers Invoices, CreditNotes and Items; Payments and ManualJournals have their own.
    for path in ("Invoices", "CreditNotes", "Items"):
        assert http.get(tenant.api(path), headers=tenant.headers()).status_code == 200, path
    for path in ("Payments", "ManualJournals", "Contacts"):
        assert http.get(tenant.api(path), headers=tenant.headers()).status_code == 401, path
    assert http.put(tenant.api("Invoices"), headers=tenant.headers(), json={}).status_code == 401
