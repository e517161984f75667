"""HTTP calls to Exact's REST API: headers Exact needs, JSON envelopes, typed errors."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from connectors.base.errors import VendorError, VendorUnavailable
from connectors.base.types import Company, VendorUser
from connectors.exact.errors import error_for_response

# Exact answers Atom XML without this Accept header (KB); never send Expect: 100-continue (KB Known issues).
BASE_HEADERS = {"Accept": "application/json", "Content-Type": "application/json", "Prefer": "return=representation"}


def unwrap_results(body: Any) -> list[dict[str, Any]]:
    """Exact's OData v2 lists: {"d":{"results":[…]}}, or a bare {"d":[…]} for $top queries."""
    data = body.get("d") if isinstance(body, dict) else None
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        results = data.get("results")
        if isinstance(results, list):
            return results
        return [data]
    raise VendorError("Exact answered with an unexpected document.")


class ExactClient:
    """One region's API; calls here take an access token, the caller owns token freshness."""

    def __init__(self, *, base_url: str, timeout: float | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout or settings.EXACT_HTTP_TIMEOUT

    def get_json(self, path: str, *, access_token: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = httpx.get(
                f"{self.base_url}/api/v1/{path}",
                params=params,
                headers={**BASE_HEADERS, "Authorization": f"Bearer {access_token}"},
                timeout=self.timeout,
            )
        except httpx.TransportError as exc:
            raise VendorUnavailable(f"Exact is unreachable ({exc.__class__.__name__}).") from None
        if response.status_code >= 400:
            raise error_for_response(response)
        return response.json()

    def current_user(self, *, access_token: str) -> VendorUser:
        # current/Me has no division in its URL and does not count toward the rate limits.
        body = self.get_json(
            "current/Me",
            access_token=access_token,
            params={"$select": "UserID,FullName,Email,CurrentDivision"},
        )
        me = unwrap_results(body)[0]
        current = me.get("CurrentDivision")
        return VendorUser(
            user_id=str(me["UserID"]),
            name=me.get("FullName") or "",
            email=me.get("Email") or "",
            default_company_id=str(current) if current else None,
        )

    def divisions(self, *, access_token: str, via_division: str | None) -> list[Company]:
        """Divisions the grant covers (system/Divisions); the URL needs some division the grant covers."""
        if not via_division:
            return []
        body = self.get_json(
            f"{int(via_division)}/system/Divisions",
            access_token=access_token,
            params={"$select": "Code,Description,Country,Currency"},
        )
        return [
            Company(
                company_id=str(row["Code"]),
                name=row.get("Description") or f"Division {row['Code']}",
                country=row.get("Country") or "",
                currency=row.get("Currency") or "",
            )
            for row in unwrap_results(body)
        ]
