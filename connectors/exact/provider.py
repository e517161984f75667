"""The Exact Online connector: regions, app registration, capabilities; auth and calls live beside it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.conf import settings

from connectors.base.connector import Connector, Region
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser
from connectors.exact import auth
from connectors.exact.client import ExactClient

# Exact's hosts per region (API-FACTS §1.1); the paths are the same on every host.
DEFAULT_REGIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "nl": ("Netherlands", "https://start.exactonline.nl"),
        "be": ("Belgium", "https://start.exactonline.be"),
        "de": ("Germany", "https://start.exactonline.de"),
        "uk": ("United Kingdom", "https://start.exactonline.co.uk"),
        "us": ("United States", "https://start.exactonline.com"),
        "es": ("Spain", "https://start.exactonline.es"),
        # Attested only by third-party code (API-FACTS §1.1): likely, not officially listed.
        "fr": ("France", "https://start.exactonline.fr"),
    }
)


def region_base_urls() -> dict[str, str]:
    """Base URL per region after settings: EXACT_SANDBOX_URL stands in for all, EXACT_BASE_URLS per region."""
    urls = {code: url for code, (_, url) in DEFAULT_REGIONS.items()}
    if settings.EXACT_SANDBOX_URL:
        urls = {code: f"{settings.EXACT_SANDBOX_URL}/{code}" for code in urls}
    for code, url in settings.EXACT_BASE_URLS.items():
        if code not in urls:
            raise ValueError(f"EXACT_BASE_URLS names unknown region '{code}'.")
        urls[code] = url.rstrip("/")
    return urls


class ExactConnector(Connector):
    id = "exact"
    name = "Exact Online"

    def regions(self) -> Mapping[str, Region]:
        urls = region_base_urls()
        return {code: Region(code=code, name=DEFAULT_REGIONS[code][0], base_url=urls[code]) for code in urls}

    def default_app(self) -> AppCredentials | None:
        if not settings.EXACT_CLIENT_ID:
            return None
        return AppCredentials(
            client_id=settings.EXACT_CLIENT_ID,
            client_secret=settings.EXACT_CLIENT_SECRET,
            webhook_secret=settings.EXACT_WEBHOOK_SECRET,
        )

    def authorization_url(self, *, region: str, app: AppCredentials, redirect_uri: str, state: str) -> str:
        return auth.authorization_url(
            base_url=self.region(region).base_url, app=app, redirect_uri=redirect_uri, state=state
        )

    def exchange_code(self, *, region: str, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
        return auth.exchange_code(base_url=self.region(region).base_url, app=app, code=code, redirect_uri=redirect_uri)

    def refresh_tokens(self, *, region: str, app: AppCredentials, refresh_token: str) -> TokenSet:
        return auth.refresh_tokens(base_url=self.region(region).base_url, app=app, refresh_token=refresh_token)

    def min_refresh_interval(self) -> int:
        return auth.MIN_REFRESH_INTERVAL_SECONDS

    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        return ExactClient(base_url=self.region(region).base_url).current_user(access_token=access_token)

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        return ExactClient(base_url=self.region(region).base_url).divisions(
            access_token=access_token, via_division=hint_company_id
        )
