"""What each connect-flow error code means to the person in front of the page (the code itself goes to the SaaS)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorText:
    title: str
    message: str
    http_status: int = 400


ERRORS: dict[str, ErrorText] = {
    "access_denied": ErrorText(
        "Access was not granted",
        "You declined access on Exact Online's page, so nothing was connected.",
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
        "The answer from Exact Online has been used before and, for your security, cannot be used twice.",
    ),
    "state_mismatch": ErrorText(
        "We could not verify this sign-in",
        "The answer from Exact Online does not belong to this browser session. Open the connect link again and "
        "finish in the same browser.",
    ),
    "token_exchange_failed": ErrorText(
        "Exact Online did not confirm the sign-in",
        "Exact Online refused to complete the sign-in. Nothing was connected; please start again.",
        502,
    ),
    "no_division_granted": ErrorText(
        "No administration was shared",
        "Exact Online did not give access to any administration. Start again and tick at least one administration "
        "on Exact Online's page.",
    ),
    "current_division_not_granted": ErrorText(
        "Switch administration in Exact Online first",
        "Exact Online lets us see your administrations only through the one you currently have open, and that "
        "one was not among those you shared. Open Exact Online, switch to one of the administrations you want to "
        "connect, then start again.",
    ),
    "vendor_unavailable": ErrorText(
        "Exact Online is not reachable right now",
        "Exact Online did not answer in time. Nothing was connected; please try again in a few minutes.",
        502,
    ),
    "vendor_error": ErrorText(
        "Exact Online answered with an error",
        "Exact Online could not tell us which administrations you shared. Nothing was connected; please start again.",
        502,
    ),
    "vendor_not_configured": ErrorText(
        "Connecting is not set up yet",
        "This service has no Exact Online app registration. Please contact its support.",
        503,
    ),
    "consent_failed": ErrorText(
        "Exact Online returned an error",
        "The sign-in at Exact Online did not complete. Nothing was connected; please start again.",
    ),
    "consent_expired": ErrorText(
        "Your sign-in is no longer valid",
        "Your sign-in at Exact Online was replaced or ended while you were choosing. Open the connect link again "
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


def error_text(code: str) -> ErrorText:
    return ERRORS.get(code, ErrorText("Something went wrong", "Nothing was connected; please start again."))
