"""Accounting API writes over HTTP: PUT/POST, batches and summarizeErrors, idempotency, statuses, validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl
from tests.connectors.xero.sandbox.conftest import Tenant


def _line(**overrides: Any) -> dict[str, Any]:
    return {
        "Description": "Consulting",
        "Quantity": 2,
        "UnitAmount": 100,
        "AccountCode": "200",
        "TaxType": "OUTPUT2",
        **overrides,
    }


def _invoice(contact: str = "Acme Ltd", **overrides: Any) -> dict[str, Any]:
    return {
        "Type": "ACCREC",
        "Contact": {"Name": contact},
        "Date": "2024-05-01",
        "DueDate": "2024-05-31",
        "LineItems": [_line()],
        **overrides,
    }


def _put(tenant: Tenant, http: httpx.Client, resource: str, *items: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return http.put(
        tenant.api(resource),
        headers={**tenant.headers(), **kwargs.pop("headers", {})},
        json={resource: list(items)},
        **kwargs,
    )


def test_put_creates_and_answers_200_with_derived_fields(connected: Tenant, http: httpx.Client) -> None:
    response = _put(connected, http, "Invoices", _invoice(Status="AUTHORISED"))
    assert response.status_code == 200
    invoice = response.json()["Invoices"][0]
    assert invoice["InvoiceNumber"] == "INV-0001"
    assert invoice["Contact"]["Name"] == "Acme Ltd"  # an unknown contact name creates the contact
    line = invoice["LineItems"][0]
    assert (line["LineAmount"], line["TaxAmount"]) == (200.0, 40.0)
    assert (invoice["SubTotal"], invoice["TotalTax"], invoice["Total"], invoice["AmountDue"]) == (200, 40, 240, 240)
    assert invoice["Date"] == "/Date(1714521600000+0000)/"
    assert invoice["UpdatedDateUTC"].startswith("/Date(")


@pytest.mark.parametrize(
    ("line_amount_types", "line", "expected"),
    [
        ("Inclusive", _line(Quantity=1, UnitAmount=120), (100.0, 20.0, 120.0)),
        ("NoTax", _line(Quantity=3, UnitAmount=33.33, TaxType=None), (99.99, 0.0, 99.99)),
        ("Exclusive", _line(Quantity=1, UnitAmount=10.005), (10.01, 2.0, 12.01)),
        ("Exclusive", _line(Quantity=4, UnitAmount=25, DiscountRate=10), (90.0, 18.0, 108.0)),
    ],
)
def test_tax_per_line_rounded_to_cents(
    connected: Tenant, http: httpx.Client, line_amount_types: str, line: dict[str, Any], expected: tuple
) -> None:
    line = {k: v for k, v in line.items() if v is not None}
    invoice = _put(connected, http, "Invoices", _invoice(LineAmountTypes=line_amount_types, LineItems=[line])).json()
    body = invoice["Invoices"][0]
    assert (body["SubTotal"], body["TotalTax"], body["Total"]) == expected


def test_validation_errors_in_elements_with_xeros_numbers(connected: Tenant, http: httpx.Client) -> None:
    response = _put(connected, http, "Invoices", _invoice(LineItems=[_line(AccountCode="999", TaxType="BOGUS")]))
    assert response.status_code == 400
    body = response.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    messages = [e["Message"] for e in body["Elements"][0]["ValidationErrors"]]
    assert messages == [
        "Account code '999' is not a valid code for this document.",
        "The TaxType code 'BOGUS' does not exist or cannot be used with this type of transaction.",
    ]
    assert body["Elements"][0]["Type"] == "ACCREC"  # the element is echoed


@pytest.mark.parametrize(
    ("invoice", "message"),
    [
        (
            {"Type": "ACCREC", "LineItems": [_line()]},
            "The Contact must contain at least 1 of the following elements to identify the contact: Name, ContactID, "
            "ContactNumber",
        ),
        ({"Contact": {"Name": "A"}, "LineItems": [_line()]}, "Invoice Type must be specified (ACCREC or ACCPAY)."),
        (
            {"Type": "SALES", "Contact": {"Name": "A"}, "LineItems": [_line()]},
            "Invoice Type 'SALES' is not valid; use ACCREC or ACCPAY.",
        ),
        ({"Type": "ACCREC", "Contact": {"Name": "A"}}, "A invoice must have at least one line item."),
        (
            {
                "Type": "ACCPAY",
                "Contact": {"Name": "A"},
                "LineItems": [_line(DiscountRate=5, AccountCode="429", TaxType="INPUT2")],
            },
            "Discounts are only supported on sales documents (ACCREC).",
        ),
        (
            {"Type": "ACCREC", "Contact": {"Name": "A"}, "Status": "PAID", "LineItems": [_line()]},
            "A invoice cannot be created with status PAID.",
        ),
        (
            {
                "Type": "ACCREC",
                "Contact": {"Name": "A"},
                "Status": "AUTHORISED",
                "LineItems": [{"Description": "no account", "Quantity": 1, "UnitAmount": 5}],
            },
            "Account code must be specified for each line item before the document is approved.",
        ),
        (
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": "00000000-0000-0000-0000-000000000001"},
                "LineItems": [_line()],
            },
            "The contact with ContactID '00000000-0000-0000-0000-000000000001' could not be found.",
        ),
        (
            {"Type": "ACCREC", "Contact": {"Name": "A"}, "CurrencyCode": "USD", "LineItems": [_line()]},
            "The currency 'USD' is not enabled for this organisation.",
        ),
        (
            {"Type": "ACCREC", "Contact": {"Name": "A"}, "Date": "2024-13-45", "LineItems": [_line()]},
            "Date is not a valid date.",
        ),
    ],
)
def test_invoice_rules(connected: Tenant, http: httpx.Client, invoice: dict[str, Any], message: str) -> None:
    response = _put(connected, http, "Invoices", invoice)
    assert response.status_code == 400
    assert message in [e["Message"] for e in response.json()["Elements"][0]["ValidationErrors"]]


def test_sales_numbers_are_unique_purchase_numbers_are_not(connected: Tenant, http: httpx.Client) -> None:
    assert _put(connected, http, "Invoices", _invoice(InvoiceNumber="X-1")).status_code == 200
    duplicate = _put(connected, http, "Invoices", _invoice(InvoiceNumber="x-1"))
    assert duplicate.json()["Elements"][0]["ValidationErrors"][0]["Message"] == "Invoice # must be unique."
    bill = _invoice(Type="ACCPAY", InvoiceNumber="B-1", LineItems=[_line(AccountCode="429", TaxType="INPUT2")])
    assert _put(connected, http, "Invoices", bill).status_code == 200
    assert _put(connected, http, "Invoices", bill).status_code == 200


def test_bill_lines_follow_the_accounts_class_and_type(connected: Tenant, http: httpx.Client) -> None:
    def bill(**line: Any) -> dict[str, Any]:
        return {
            "Type": "ACCPAY",
            "Contact": {"Name": "Paper Supplies Ltd"},
            "Status": "AUTHORISED",
            "Date": "2024-05-01",
            "DueDate": "2024-05-31",
            "LineItems": [{"Description": "Paper", "Quantity": 2, "LineAmount": 50, "AccountCode": "429", **line}],
        }

    def messages(response: httpx.Response) -> list[str]:
        assert response.status_code == 400, response.text
        return [e["Message"] for e in response.json()["Elements"][0]["ValidationErrors"]]

    assert messages(_put(connected, http, "Invoices", bill(TaxType="OUTPUT2"))) == [
        "The TaxType code 'OUTPUT2' cannot be used with account code '429'."
    ]
    assert messages(_put(connected, http, "Invoices", bill(AccountCode="090"))) == [
        "Account code '090' is not a valid code for this document."
    ]
    ok = _put(connected, http, "Invoices", bill(TaxAmount="9.99")).json()["Invoices"][0]
    line = ok["LineItems"][0]
    # The account's default tax type, Xero's UnitAmount from Quantity and LineAmount, the TaxAmount sent.
    assert (line["TaxType"], line["UnitAmount"], line["LineAmount"], line["TaxAmount"]) == ("INPUT2", 25, 50, 9.99)
    assert (ok["Total"], "InvoiceNumber" in ok) == (59.99, False)  # bills get no number of Xero's own
    rates = {
        r["TaxType"]: r for r in http.get(connected.api("TaxRates"), headers=connected.headers()).json()["TaxRates"]
    }
    assert (rates["OUTPUT2"]["CanApplyToExpenses"], rates["OUTPUT2"]["CanApplyToRevenue"]) == (False, True)
    assert (rates["INPUT2"]["CanApplyToExpenses"], rates["INPUT2"]["CanApplyToRevenue"]) == (True, False)


def test_batches_are_not_transactional_by_default(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    response = _put(connected, http, "Contacts", {"Name": "Good One"}, {"Name": ""}, {"Name": "Good Two"})
    assert response.status_code == 400
    assert len(response.json()["Elements"]) == 1
    # ... yet the valid elements were created (NOTES.md "Writes").
    names = {c["Name"] for c in control.dump(connected.tenant_id)["Contacts"]}
    assert {"Good One", "Good Two"} <= names


def test_summarize_errors_false_answers_200_per_element(connected: Tenant, http: httpx.Client) -> None:
    response = http.put(
        connected.api("Contacts"),
        params={"summarizeErrors": "false"},
        headers=connected.headers(),
        json={"Contacts": [{"Name": "Fine"}, {"Name": "x" * 256}]},
    )
    assert response.status_code == 200
    first, second = response.json()["Contacts"]
    assert first["StatusAttributeString"] == "OK" and first["ContactID"]
    assert second["StatusAttributeString"] == "ERROR"
    assert second["ValidationErrors"] == [{"Message": "The contact name must be 255 characters or fewer."}]


def test_put_refuses_a_duplicate_contact_post_updates_it(connected: Tenant, http: httpx.Client) -> None:
    created = _put(connected, http, "Contacts", {"Name": "Kauri Ltd", "EmailAddress": "a@kauri.example"})
    contact_id = created.json()["Contacts"][0]["ContactID"]
    again = _put(connected, http, "Contacts", {"Name": "kauri ltd"})
    assert again.status_code == 400
    assert "already assigned to another contact" in again.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    upsert = http.post(
        connected.api("Contacts"),
        headers=connected.headers(),
        json={"Contacts": [{"Name": "Kauri Ltd", "EmailAddress": "b@kauri.example"}]},
    )
    assert upsert.json()["Contacts"][0]["ContactID"] == contact_id
    assert upsert.json()["Contacts"][0]["EmailAddress"] == "b@kauri.example"
    by_id = http.post(connected.api(f"Contacts/{contact_id}"), headers=connected.headers(), json={"LastName": "K"})
    assert by_id.json()["Contacts"][0]["LastName"] == "K"


def test_idempotency_key_replays_the_first_answer(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = _put(connected, http, "Invoices", _invoice(), headers=headers)
    second = _put(connected, http, "Invoices", _invoice(), headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(control.dump(connected.tenant_id)["Invoices"]) == 1
    assert control.counters()["idempotent_replays"] == 1
    different = _put(connected, http, "Invoices", _invoice(Reference="other"), headers=headers)
    assert different.status_code == 400
    assert different.json()["Message"] == "Idempotency key 'key-1' is used with a different request."
    # Errors are remembered too.
    bad = _put(connected, http, "Invoices", _invoice(Type="NOPE"), headers={"Idempotency-Key": "key-2"})
    assert (
        _put(connected, http, "Invoices", _invoice(Type="NOPE"), headers={"Idempotency-Key": "key-2"}).json()
        == bad.json()
    )
    too_long = _put(connected, http, "Invoices", _invoice(), headers={"Idempotency-Key": "k" * 129})
    assert too_long.status_code == 400


def test_idempotency_keys_expire_after_six_minutes(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    headers = {"Idempotency-Key": "key-ttl"}
    _put(connected, http, "Invoices", _invoice(), headers=headers)
    control.advance_clock(361)
    _put(connected, http, "Invoices", _invoice(), headers=headers)
    assert len(control.dump(connected.tenant_id)["Invoices"]) == 2


def test_invoice_lifecycle(connected: Tenant, http: httpx.Client) -> None:
    draft = _put(connected, http, "Invoices", _invoice()).json()["Invoices"][0]
    url = connected.api(f"Invoices/{draft['InvoiceID']}")
    deleted = http.post(url, headers=connected.headers(), json={"Status": "DELETED"})
    assert deleted.json()["Invoices"][0]["Status"] == "DELETED"
    undead = http.post(url, headers=connected.headers(), json={"Status": "DRAFT"})
    assert (
        undead.json()["Elements"][0]["ValidationErrors"][0]["Message"] == "Invoice not of valid status for modification"
    )
    authorised = _put(connected, http, "Invoices", _invoice(Status="AUTHORISED")).json()["Invoices"][0]
    url = connected.api(f"Invoices/{authorised['InvoiceID']}")
    back = http.post(url, headers=connected.headers(), json={"Status": "DRAFT"})
    assert back.status_code == 400
    bank = next(
        a
        for a in http.get(connected.api("Accounts"), headers=connected.headers()).json()["Accounts"]
        if a["Type"] == "BANK"
    )
    payment = http.put(
        connected.api("Payments"),
        headers=connected.headers(),
        json={
            "Payments": [
                {
                    "Invoice": {"InvoiceID": authorised["InvoiceID"]},
                    "Account": {"Code": bank["Code"]},
                    "Date": "2024-05-10",
                    "Amount": 100,
                }
            ]
        },
    )
    assert payment.status_code == 200, payment.text
    cannot_void = http.post(url, headers=connected.headers(), json={"Status": "VOIDED"})
    assert "Payments and allocations must be removed" in cannot_void.text
    rest = http.post(
        connected.api("Payments"),
        headers=connected.headers(),
        json={
            "Invoice": {"InvoiceNumber": authorised["InvoiceNumber"]},
            "Account": {"AccountID": bank["AccountID"]},
            "Date": "2024-05-11",
            "Amount": 140,
        },
    )
    assert rest.status_code == 200
    paid = http.get(url, headers=connected.headers()).json()["Invoices"][0]
    assert (paid["Status"], paid["AmountDue"], paid["AmountPaid"], len(paid["Payments"])) == ("PAID", 0, 240, 2)
    assert paid["FullyPaidOnDate"] == "/Date(1715385600000+0000)/"
    locked = http.post(url, headers=connected.headers(), json={"Reference": "late edit"})
    assert (
        locked.json()["Elements"][0]["ValidationErrors"][0]["Message"]
        == "This document cannot be edited as it has a payment or credit note allocated to it."
    )
    # Deleting a payment reopens the invoice.
    payment_id = payment.json()["Payments"][0]["PaymentID"]
    removed = http.post(
        connected.api(f"Payments/{payment_id}"), headers=connected.headers(), json={"Status": "DELETED"}
    )
    assert removed.json()["Payments"][0]["Status"] == "DELETED"
    reopened = http.get(url, headers=connected.headers()).json()["Invoices"][0]
    assert (reopened["Status"], reopened["AmountDue"]) == ("AUTHORISED", 100)


def test_payment_rules(connected: Tenant, http: httpx.Client) -> None:
    draft = _put(connected, http, "Invoices", _invoice()).json()["Invoices"][0]
    authorised = _put(connected, http, "Invoices", _invoice(Status="AUTHORISED")).json()["Invoices"][0]

    def pay(invoice: dict, **overrides: Any) -> list[str]:
        body = {
            "Invoice": {"InvoiceID": invoice["InvoiceID"]},
            "Account": {"Code": "090"},
            "Date": "2024-05-10",
            "Amount": 10,
            **overrides,
        }
        response = http.put(connected.api("Payments"), headers=connected.headers(), json={"Payments": [body]})
        return [e["Message"] for e in response.json().get("Elements", [{}])[0].get("ValidationErrors", [])]

    assert pay(draft) == ["Payments can only be made against authorised documents."]
    assert pay(authorised, Amount=1000) == ["Payment amount exceeds the amount outstanding on this document."]
    assert pay(authorised, Account={"Code": "200"}) == ["Account type is invalid for making a payment to/from."]
    assert pay(authorised, Date=None) == ["Payment Date is required."]
    assert pay(authorised) == []
    payment = http.get(connected.api("Payments"), headers=connected.headers()).json()["Payments"][0]
    edit = http.post(connected.api(f"Payments/{payment['PaymentID']}"), headers=connected.headers(), json={"Amount": 5})
    assert "only be deleted" in edit.text


def test_period_lock_date(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.organisation_settings(connected.tenant_id, period_lock_date="2024-06-30")
    locked = _put(connected, http, "Invoices", _invoice(Status="AUTHORISED"))
    assert (
        locked.json()["Elements"][0]["ValidationErrors"][0]["Message"]
        == "The document date cannot be before the period lock date 30/06/2024."
    )
    assert _put(connected, http, "Invoices", _invoice()).status_code == 200  # drafts are not posted


def test_accounts_put_one_bare_account_and_delete(connected: Tenant, http: httpx.Client) -> None:
    created = http.put(
        connected.api("Accounts"),
        headers=connected.headers(),
        json={"Code": "201", "Name": "Online sales", "Type": "REVENUE", "TaxType": "OUTPUT2"},
    )
    assert created.status_code == 200
    account = created.json()["Accounts"][0]
    assert (account["Class"], account["Status"]) == ("REVENUE", "ACTIVE")
    duplicate = http.put(
        connected.api("Accounts"),
        headers=connected.headers(),
        json={"Code": "201", "Name": "Online sales", "Type": "REVENUE"},
    )
    assert [e["Message"] for e in duplicate.json()["Elements"][0]["ValidationErrors"]] == [
        "Please enter a unique Code.",
        "Please enter a unique Name.",
    ]
    bank = http.put(connected.api("Accounts"), headers=connected.headers(), json={"Name": "Savings", "Type": "BANK"})
    assert "Bank Account Number is required for bank accounts." in bank.text
    deleted = http.delete(connected.api(f"Accounts/{account['AccountID']}"), headers=connected.headers())
    assert (deleted.status_code, deleted.json()["Accounts"][0]["Status"]) == (200, "DELETED")
    in_use = http.get(
        connected.api(
            "Accounts/"
            + next(
                a["AccountID"]
                for a in http.get(connected.api("Accounts"), headers=connected.headers()).json()["Accounts"]
                if a["Code"] == "200"
            )
        ),
        headers=connected.headers(),
    ).json()["Accounts"][0]
    _put(connected, http, "Invoices", _invoice())
    refused = http.delete(connected.api(f"Accounts/{in_use['AccountID']}"), headers=connected.headers())
    assert refused.status_code == 400


def test_items_upsert_on_code_and_delete_204(connected: Tenant, http: httpx.Client) -> None:
    created = _put(
        connected,
        http,
        "Items",
        {"Code": "WIDGET", "Name": "Widget", "SalesDetails": {"UnitPrice": 9.99, "AccountCode": "200"}},
    )
    item = created.json()["Items"][0]
    assert _put(connected, http, "Items", {"Code": "widget"}).status_code == 400
    upsert = http.post(
        connected.api("Items"),
        headers=connected.headers(),
        json={"Items": [{"Code": "WIDGET", "Description": "A widget"}]},
    )
    assert upsert.json()["Items"][0]["ItemID"] == item["ItemID"]
    # An item's sales details fill the line (description, price, account).
    invoice = _put(connected, http, "Invoices", _invoice(LineItems=[{"ItemCode": "WIDGET", "Quantity": 2}]))
    line = invoice.json()["Invoices"][0]["LineItems"][0]
    assert (line["Description"], line["UnitAmount"], line["AccountCode"], line["LineAmount"]) == (
        "A widget",
        9.99,
        "200",
        19.98,
    )
    deleted = http.delete(connected.api(f"Items/{item['ItemID']}"), headers=connected.headers())
    assert (deleted.status_code, deleted.content) == (204, b"")


def test_manual_journals_must_balance(connected: Tenant, http: httpx.Client) -> None:
    unbalanced = _put(
        connected,
        http,
        "ManualJournals",
        {
            "Narration": "Accrual",
            "JournalLines": [{"LineAmount": 100, "AccountCode": "429"}, {"LineAmount": -50, "AccountCode": "800"}],
        },
    )
    assert (
        unbalanced.json()["Elements"][0]["ValidationErrors"][0]["Message"]
        == "The total debits (100.00) must equal total credits (50.00)"
    )
    one_line = _put(
        connected, http, "ManualJournals", {"Narration": "x", "JournalLines": [{"LineAmount": 0, "AccountCode": "429"}]}
    )
    assert "at least two journal lines" in one_line.text
    ok = _put(
        connected,
        http,
        "ManualJournals",
        {
            "Narration": "Accrual",
            "Status": "POSTED",
            "JournalLines": [{"LineAmount": 100, "AccountCode": "429"}, {"LineAmount": -100, "AccountCode": "800"}],
        },
    )
    journal = ok.json()["ManualJournals"][0]
    assert (journal["Status"], journal["LineAmountTypes"]) == ("POSTED", "NoTax")


def test_manual_journal_tax_is_calculated_and_balanced_with(connected: Tenant, http: httpx.Client) -> None:
    """Fidelity 72a: with LineAmountTypes Exclusive a line's TaxType adds a TaxAmount calculated from the rate (a sent
    TaxAmount is not taken), on the line's side, and the lines balance with it; Inclusive takes it out of the line."""

    def journal(amount_types: str, lines: list[dict[str, Any]]) -> httpx.Response:
        body = {"Narration": "Tax", "Status": "POSTED", "LineAmountTypes": amount_types, "JournalLines": lines}
        return _put(connected, http, "ManualJournals", body)

    unbalanced = journal(
        "Exclusive",
        [
            {"LineAmount": 100, "AccountCode": "429", "TaxType": "INPUT2", "TaxAmount": 0},
            {"LineAmount": -100, "AccountCode": "800", "TaxType": "NONE"},
        ],
    )
    assert unbalanced.status_code == 400
    assert (
        unbalanced.json()["Elements"][0]["ValidationErrors"][0]["Message"]
        == "The total debits (120.00) must equal total credits (100.00)"
    )
    exclusive = journal(
        "Exclusive",
        [
            {"LineAmount": 100, "AccountCode": "429", "TaxType": "INPUT2", "TaxAmount": 1},
            {"LineAmount": -120, "AccountCode": "800", "TaxType": "NONE"},
        ],
    )
    assert exclusive.status_code == 200, exclusive.text
    lines = exclusive.json()["ManualJournals"][0]["JournalLines"]
    assert [(line["LineAmount"], line["TaxAmount"]) for line in lines] == [(100, 20), (-120, 0)]
    inclusive = journal(
        "Inclusive",
        [
            {"LineAmount": 120, "AccountCode": "429", "TaxType": "INPUT2"},
            {"LineAmount": -120, "AccountCode": "800", "TaxType": "NONE"},
        ],
    )
    assert inclusive.status_code == 200, inclusive.text
    assert inclusive.json()["ManualJournals"][0]["JournalLines"][0]["TaxAmount"] == 20


def test_credit_note_allocation_settles_the_invoice(connected: Tenant, http: httpx.Client) -> None:
    invoice = _put(connected, http, "Invoices", _invoice(Status="AUTHORISED")).json()["Invoices"][0]
    credit = _put(
        connected,
        http,
        "CreditNotes",
        {"Type": "ACCRECCREDIT", "Contact": {"Name": "Acme Ltd"}, "Status": "AUTHORISED", "LineItems": [_line()]},
    )
    note = credit.json()["CreditNotes"][0]
    assert (note["CreditNoteNumber"], note["RemainingCredit"]) == ("CN-0001", 240)
    allocation = http.put(
        connected.api(f"CreditNotes/{note['CreditNoteID']}/Allocations"),
        headers=connected.headers(),
        json={"Allocations": [{"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Amount": 240, "Date": "2024-05-15"}]},
    )
    assert allocation.status_code == 200, allocation.text
    settled = http.get(connected.api(f"Invoices/{invoice['InvoiceID']}"), headers=connected.headers()).json()
    assert (settled["Invoices"][0]["Status"], settled["Invoices"][0]["AmountCredited"]) == ("PAID", 240)


def test_credit_note_allocation_refusals(connected: Tenant, http: httpx.Client) -> None:
    """Fidelity 73b: an allocation needs an approved invoice of the same side and contact, and at most the
    remaining credit and the amount due; a refused one changes neither document."""
    invoice = _put(connected, http, "Invoices", _invoice(Status="AUTHORISED")).json()["Invoices"][0]  # 240 due
    draft = _put(connected, http, "Invoices", _invoice()).json()["Invoices"][0]
    other = _put(connected, http, "Invoices", _invoice("Other Ltd", Status="AUTHORISED")).json()["Invoices"][0]
    note = _put(
        connected,
        http,
        "CreditNotes",
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"Name": "Acme Ltd"},
            "Status": "AUTHORISED",
            "LineItems": [_line(Quantity=3)],
        },
    ).json()["CreditNotes"][0]

    def allocate(invoice_id: str, amount: float) -> httpx.Response:
        return http.put(
            connected.api(f"CreditNotes/{note['CreditNoteID']}/Allocations"),
            headers=connected.headers(),
            json={"Allocations": [{"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": "2024-05-15"}]},
        )

    def message(response: httpx.Response) -> str:
        assert response.status_code == 400, response.text
        return str(response.json()["Elements"][0]["ValidationErrors"][0]["Message"])

    assert "same contact" in message(allocate(other["InvoiceID"], 10))
    assert "authorised invoice" in message(allocate(draft["InvoiceID"], 10))
    assert "exceeds" in message(allocate(invoice["InvoiceID"], 300))  # 360 credit, 240 due
    unchanged = http.get(connected.api(f"Invoices/{invoice['InvoiceID']}"), headers=connected.headers()).json()
    assert unchanged["Invoices"][0]["AmountDue"] == 240
    assert allocate(invoice["InvoiceID"], 240).status_code == 200
    after = http.get(connected.api(f"CreditNotes/{note['CreditNoteID']}"), headers=connected.headers()).json()
    assert (after["CreditNotes"][0]["RemainingCredit"], after["CreditNotes"][0]["Status"]) == (120, "AUTHORISED")
    assert [a["Invoice"]["InvoiceID"] for a in after["CreditNotes"][0]["Allocations"]] == [invoice["InvoiceID"]]


def test_xml_bodies_are_accepted_and_errors_follow_accept(connected: Tenant, http: httpx.Client) -> None:
    xml = (
        b"<Invoices><Invoice><Type>ACCREC</Type><Contact><Name>XML Ltd</Name></Contact>"
        b"<Date>2024-05-01T00:00:00</Date><LineItems><LineItem><Description>Work</Description>"
        b"<Quantity>1</Quantity><UnitAmount>50.00</UnitAmount><AccountCode>200</AccountCode>"
        b"</LineItem></LineItems></Invoice></Invoices>"
    )
    headers = {**connected.headers(), "Content-Type": "application/xml"}
    created = http.put(connected.api("Invoices"), headers=headers, content=xml)
    assert created.status_code == 200, created.text
    assert created.json()["Invoices"][0]["Total"] == 60.0
    xml_client = {k: v for k, v in headers.items() if k != "Accept"}
    bad = http.put(connected.api("Invoices"), headers=xml_client, content=xml.replace(b"200", b"999"))
    assert bad.status_code == 400
    assert bad.text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<ApiException>')
    assert "<Message>Account code '999' is not a valid code for this document.</Message>" in bad.text
    evil = http.put(connected.api("Invoices"), headers=headers, content=b'<!DOCTYPE x [<!ENTITY a "b">]><Invoices/>')
    assert evil.json()["Type"] == "PostDataInvalidException"


def test_bodies_that_are_empty_broken_or_too_large(connected: Tenant, http: httpx.Client) -> None:
    empty = http.put(connected.api("Contacts"), headers=connected.headers(), content=b"")
    assert (empty.status_code, empty.json()["Type"]) == (400, "PostDataInvalidException")
    broken = http.put(
        connected.api("Contacts"),
        headers={**connected.headers(), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert broken.status_code == 400
    large = http.put(
        connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "x" * 3_600_000}]}
    )
    assert large.status_code == 413


def test_updated_date_follows_the_sandbox_clock(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.advance_clock(25 * 60)
    contact = _put(connected, http, "Contacts", {"Name": "Clockwork"}).json()["Contacts"][0]
    millis = int(contact["UpdatedDateUTC"][6:-7])
    from datetime import datetime

    assert abs(millis / 1000 - datetime.fromisoformat(control.now()).timestamp()) < 5
