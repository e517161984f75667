"""The connect flow in a real browser: Debian's Chromium via Playwright, the gateway on pytest-django's live
server, the Exact sandbox's own consent page over HTTP. Screenshots land in $LEDGERBRIDGE_SCREENSHOT_DIR if set."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from tenants.models import Connection, ConnectionStatus, ConnectLink, ConnectLinkStatus, Credential
from tests.conftest import require_service
from tests.fixtures.exact import ExactWorld
from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    if not CHROMIUM.exists():
        require_service("Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def setup(live_server, exact_world_factory: Callable[..., ExactWorld]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    world = exact_world_factory(public_url=live_server.url)
    workspace = WorkspaceFactory(name="Acme Books", allowed_redirect_hosts=["localhost", "127.0.0.1"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(workspace=workspace).secret}")
    tenant = client.post("/api/v1/tenants", {"external_id": "cust_1", "name": "Bakkerij"}, format="json").json()
    return {"world": world, "client": client, "tenant": tenant, "base": live_server.url}


def _link(setup: dict[str, object]) -> str:
    client = setup["client"]
    response = client.post(  # type: ignore[attr-defined]
        f"/api/v1/tenants/{setup['tenant']['id']}/connect-links",  # type: ignore[index]
        {"connector": "exact", "redirect_url": f"{setup['base']}/healthz?ref=7"},
        format="json",
    )
    assert response.status_code == 201
    return str(response.json()["url"])


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    directory = os.environ.get("LEDGERBRIDGE_SCREENSHOT_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


def _to_consent(page, link_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(link_url)
    assert page.locator("html").get_attribute("lang") == "en"
    _shot(page, "1-region")
    page.get_by_label("Netherlands").check()
    page.get_by_role("button", name="Next").click()
    _shot(page, "2-continue")
    page.get_by_role("button", name="Continue to Exact Online").click()
    page.wait_for_selector("select[name=user_id]")  # the sandbox's consent page


def test_connect_two_divisions_in_chromium(browser_page, setup) -> None:  # type: ignore[no-untyped-def]
    page, world = browser_page, setup["world"]
    _to_consent(page, _link(setup))
    page.select_option("select[name=user_id]", world.user_id)
    page.check("input[name=division][value='101']")
    page.check("input[name=division][value='102']")
    page.click("button[value=approve]")

    page.wait_for_selector("text=Choose administrations")
    assert page.is_checked("#division-101")  # CurrentDivision is pre-selected
    assert not page.is_checked("#division-102")
    assert page.locator("input[name=divisions]").count() == 2  # only what the grant covers
    page.get_by_label(world.divisions[102]).check()
    _shot(page, "3-divisions")
    page.get_by_role("button", name="Connect selected").click()
    page.wait_for_selector("text=Connected")
    _shot(page, "4-success")

    page.wait_for_url("**/healthz?**")  # the success page moves on by itself
    outcome = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    assert outcome["status"] == "success" and outcome["ref"] == "7"
    ids = outcome["connection_ids"].split(",")
    connections = Connection.objects.filter(pk__in=ids)
    assert len(ids) == 2 and connections.count() == 2
    assert {c.company_id for c in connections} == {"101", "102"}
    assert all(c.status == ConnectionStatus.ACTIVE for c in connections)
    assert ConnectLink.objects.get(pk=outcome["link_id"]).status == ConnectLinkStatus.COMPLETED


def test_decline_in_chromium(browser_page, setup) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    _to_consent(page, _link(setup))
    page.click("button[value=decline]")
    page.wait_for_selector("text=Access was not granted")
    _shot(page, "5-declined")
    page.get_by_role("link", name="Return to Acme Books").click()
    page.wait_for_url("**/healthz?**")
    outcome = {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}
    assert outcome["status"] == "error" and outcome["error"] == "access_denied" and outcome["ref"] == "7"
    assert not Connection.objects.exists() and not Credential.objects.exists()


def test_mobile_layout_and_keyboard(browser_page, setup) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(_link(setup))
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "6-mobile-region")
    # Keyboard only: the skip link comes first, then the region choices are reachable and operable.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "region"
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_selector("text=Continue to Exact Online")
