"""Helpers for connect-flow tests: create links through the API and walk the hosted pages with Django's client.

The vendor side is the real sandbox over HTTP; only the gateway's own pages go through the test client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from django.test import Client
from rest_framework.test import APIClient

from tenants.models import Tenant, Workspace
from tests.fixtures.exact import ExactWorld


def create_link(auth_client: APIClient, tenant: Tenant, **body: object) -> dict[str, object]:
    payload = {"connector": "exact", "redirect_url": "https://app.example.com/done?ref=7", **body}
    response = auth_client.post(f"/api/v1/tenants/{tenant.pk}/connect-links", payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def return_url(html: str) -> str:
    """The link back to the SaaS on a success or error page (the meta refresh points at the same URL)."""
    match = re.search(r'<a class="button" href="([^"]+)"', html)
    assert match, "no return link on the page"
    return match.group(1).replace("&amp;", "&")


@dataclass
class Flow:
    """One browser (one session) walking a connect link against the sandbox."""

    client: Client
    world: ExactWorld
    link_url: str

    def start(self, region: str | None = "nl") -> str:
        """Open the link, choose `region` (unless preset), press Continue; returns the vendor's consent URL."""
        response = self.client.get(path_of(self.link_url))
        if response.status_code == 200 and region is not None:
            html = response.content.decode()
            response = self.client.post(
                path_of(self.link_url), {"region": region, "csrfmiddlewaretoken": csrf_token(html)}
            )
        assert response.status_code == 302, response.content.decode()[:500]
        continue_path = response["Location"]
        html = self.client.get(continue_path).content.decode()
        response = self.client.post(continue_path, {"csrfmiddlewaretoken": csrf_token(html)})
        assert response.status_code == 302
        return response["Location"]

    def consent(self, authorization_url: str, *, divisions: list[int] | None = None, approve: bool = True) -> str:
        """Answer the sandbox's consent form as the world's user; returns the callback URL it redirects to."""
        form: dict[str, object] = {
            **query_of(authorization_url),
            "user_id": self.world.user_id,
            "division": [str(code) for code in (divisions if divisions is not None else [101, 102])],
            "decision": "approve" if approve else "decline",
        }
        response = httpx.post(authorization_url.split("?")[0], data=form, follow_redirects=False)
        assert response.status_code in (302, 303), response.text[:500]
        return response.headers["location"]

    def callback(self, callback_url: str):  # type: ignore[no-untyped-def]
        return self.client.get(path_of(callback_url))

    def pick(self, picker_path: str, divisions: list[str]):  # type: ignore[no-untyped-def]
        html = self.client.get(picker_path).content.decode()
        return self.client.post(picker_path, {"divisions": divisions, "csrfmiddlewaretoken": csrf_token(html)})


def allow_app_host(workspace: Workspace) -> None:
    workspace.allowed_redirect_hosts = ["app.example.com"]
    workspace.save()
