"""connectors/exact/resources.py: Exact's object as remote_data, without the OData envelope's noise."""

from __future__ import annotations

import copy

from connectors.exact.resources import without_odata_noise


def test_the_envelope_goes_everything_about_the_record_stays_and_the_input_is_untouched() -> None:
    row = {
        "__metadata": {"uri": "https://start.exactonline.nl/api/v1/101/salesinvoice/SalesInvoices(guid'1')"},
        "InvoiceID": "1",
        "AmountFC": 121.0,
        "Printed": False,
        "Remarks": None,
        "Tags": ["a", 2, None],
        "Division": {"__deferred": {"uri": "…"}},
        "SalesInvoiceLines": {
            "results": [
                {"__metadata": {"type": "Exact.Web.Api.Models.SalesInvoiceLine"}, "ID": "L1", "Matrix": [[1, 2]]},
            ]
        },
        "Envelope": {"results": [], "__count": "3"},  # not a bare expansion: kept as Exact wrote it
    }
    before = copy.deepcopy(row)
    cleaned = without_odata_noise(row)
    assert cleaned == {
        "InvoiceID": "1",
        "AmountFC": 121.0,
        "Printed": False,
        "Remarks": None,
        "Tags": ["a", 2, None],
        "SalesInvoiceLines": [{"ID": "L1", "Matrix": [[1, 2]]}],
        "Envelope": {"results": [], "__count": "3"},
    }
    assert row == before
    cleaned["SalesInvoiceLines"][0]["Matrix"][0].append(3)
    cleaned["Tags"].append("b")
    assert row == before  # every container is new
    assert without_odata_noise([row, 5]) == [without_odata_noise(row), 5]
    assert without_odata_noise("text") == "text"
