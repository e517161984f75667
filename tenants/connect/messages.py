"""What each connect-flow error code means to the person in front of the page (the code itself goes to the SaaS).

Texts name the vendor and its companies in the vendor's own words (the connector's ConnectorInfo), so the same
pages serve every connector: "{vendor}", "{company}" and "{companies}" are filled in per connector.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.base.connector import Connector


@dataclass(frozen=True)
class VendorWords:
    """How the pages name the vendor and one or several of its companies."""

    vendor: str
    company: str
    companies: str

    @classmethod
    def of(cls, connector: Connector | None) -> VendorWords:
        if connector is None:  # no link, so no connector known (an invalid link, a forged callback)
            return cls(vendor="the accounting system", company="company", companies="companies")
        noun = connector.info.company_noun
        return cls(vendor=connector.name, company=noun.singular, companies=noun.plural)


@dataclass(frozen=True)
class ErrorText:
    title: str
    message: str
    http_status: int = 400

    def worded(self, words: VendorWords) -> ErrorText:
        """The text with the vendor's name and nouns filled in (a sentence never starts in lower case)."""
        values = {"vendor": words.vendor, "company": words.company, "companies": words.companies}
        return ErrorText(
            _sentence(self.title.format(**values)), _sentence(self.message.format(**values)), self.http_status
        )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


ERRORS: dict[str, ErrorText] = {
    "access_denied": ErrorText(
        "Access was not granted",
        "You declined access on {vendor}'s page, so nothing was connected.",
    ),
    "link_not_found": ErrorText(
        "This link is not valid",
        "The link may be incomplete or mistyped. Go back to the application and start connecting again.",
        404,
    ),
    "link_expired": ErrorText(
        "This link has expired",
        "Connect links are valid for a limited time. Go back to the application and start again to get a new one.",
        410,
    ),
    "link_used": ErrorText(
        "This link was already used",
        "Each connect link works once. Go back to the application and start again to get a new one.",
        410,
    ),
    "state_reused": ErrorText(
        "This sign-in was already used",
        "The answer from {vendor} has been used before and, for your security, cannot be used twice.",
    ),
    "state_mismatch": ErrorText(
        "We could not verify this sign-in",
        "The answer from {vendor} does not belong to this browser session. Open the connect link again and "
        "finish in the same browser.",
    ),
    "token_exchange_failed": ErrorText(
        "{vendor} did not confirm the sign-in",
        "{vendor} refused to complete the sign-in. Nothing was connected; please start again.",
        502,
    ),
    "no_division_granted": ErrorText(
        "No {company} was shared",
        "{vendor} did not give access to any {company}. Start again and tick at least one {company} on {vendor}'s "
        "page.",
    ),
    "no_division_chosen": ErrorText(
        "Choose at least one {company}",
        "Nothing was connected because no {company} was ticked. Go back one page and tick the {companies} to connect.",
    ),
    "current_division_not_granted": ErrorText(
        "Switch {company} in {vendor} first",
        "{vendor} lets us see your {companies} only through the one you currently have open, and that one was not "
        "among those you shared. Open {vendor}, switch to one of the {companies} you want to connect, then start "
        "again.",
    ),
    "invalid_region": ErrorText(
        "Choose where your {vendor} account is",
        "The region sent is not one {vendor} offers. Go back one page and choose your region from the list.",
    ),
    "vendor_unavailable": ErrorText(
        "{vendor} is not reachable right now",
        "{vendor} did not answer in time. Nothing was connected; please try again in a few minutes.",
        502,
    ),
    "vendor_error": ErrorText(
        "{vendor} answered with an error",
        "{vendor} could not tell us which {companies} you shared. Nothing was connected; please start again.",
        502,
    ),
    "vendor_not_configured": ErrorText(
        "Connecting is not set up yet",
        "This service has no {vendor} app registration. Please contact its support.",
        503,
    ),
    "consent_failed": ErrorText(
        "{vendor} returned an error",
        "The sign-in at {vendor} did not complete. Nothing was connected; please start again.",
    ),
    "consent_expired": ErrorText(
        "Your sign-in is no longer valid",
        "Your sign-in at {vendor} was replaced or ended while you were choosing. Open the connect link again "
        "and sign in once more.",
        409,
    ),
    "try_again": ErrorText(
        "Please try again in a minute",
        "This connection is being updated right now. Nothing was lost: go back one page and confirm again in a minute.",
        503,
    ),
    "session_expired": ErrorText(
        "Your session has ended",
        "This step must be finished in the browser where you started. Open the connect link again.",
    ),
}

# Form errors of the API-key step: the link stays usable, the user corrects the key or tries again later.
API_KEY_REFUSED = "{vendor} did not accept this API key. Check that it is complete and still active."
API_KEY_UNCHECKED = "{vendor} could not check this API key right now. Nothing was connected; please try again soon."


def error_text(code: str, words: VendorWords) -> ErrorText:
    text = ERRORS.get(code, ErrorText("Something went wrong", "Nothing was connected; please start again."))
    return text.worded(words)
