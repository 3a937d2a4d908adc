"""Fixtures of the shoppers tests: the in-memory code sender, signed-in clients, and one
WeChat simulator for the session with the mall's WeChat settings pointed at it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.test import Client

from simulators.wechat import CREDENTIALS_FILE, SimulatorConfig, serve_in_thread
from storefront.shoppers.senders import MemoryCodeSender
from storefront.web.shopper_session import SESSION_KEY
from tests.conftest import host_client


@pytest.fixture(autouse=True)
def outbox(settings):
    """Codes go to memory; the per-IP limit is off unless a test turns it on (the cache is
    a real Redis that outlives the test run)."""
    settings.SHOPPER_CODE_SENDER = "storefront.shoppers.senders.MemoryCodeSender"
    settings.SHOPPER_CODE_IP_RATE = ""
    settings.WECHAT_OAUTH_APP_ID = ""
    settings.WECHAT_OAUTH_APP_SECRET = ""
    MemoryCodeSender.clear()
    yield MemoryCodeSender
    MemoryCodeSender.clear()


def sign_in(client: Client, shopper) -> Client:
    """Open a shopper session for `client` directly (the sign-in flows have their own
    tests). The session is stored in the schema active in the test: the mall's."""
    session = client.session
    session[SESSION_KEY] = shopper.pk
    session.save()
    return client


def csrf_client(mall) -> Client:
    host = mall.primary_host.split(":")[0]
    return Client(HTTP_HOST=host, enforce_csrf_checks=True)


@pytest.fixture
def shopper(mall):
    from tests.factories.shoppers import ShopperFactory

    return ShopperFactory()


@pytest.fixture
def shopper_client(mall, shopper):
    return sign_in(host_client(mall), shopper)


# WeChat ----------------------------------------------------------------------------------


@dataclass
class WeChatSim:
    base_url: str
    credentials: dict
    openids: dict[str, str]
    nicknames: dict[str, str]

    @property
    def appid(self) -> str:
        return self.credentials["sp_appid"]


@pytest.fixture(scope="session")
def wechat_simulator(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("wechat-sim-shoppers")
    server, base_url = serve_in_thread(SimulatorConfig.load_or_create(state_dir))
    credentials = json.loads((state_dir / CREDENTIALS_FILE).read_text())
    users = requests.get(
        f"{base_url}/_sim/users", params={"appid": credentials["sp_appid"]}, timeout=5
    ).json()
    yield WeChatSim(
        base_url=base_url,
        credentials=credentials,
        openids={user["key"]: user["openid"] for user in users},
        nicknames={user["key"]: user["nickname"] for user in users},
    )
    server.shutdown()


@pytest.fixture
def wechat(settings, wechat_simulator) -> WeChatSim:
    """The mall's WeChat sign-in pointed at the simulator, with the provider's official
    account (a later issue makes the account per merchant)."""
    settings.WECHAT_OPEN_BASE_URL = wechat_simulator.base_url
    settings.WECHAT_API_BASE_URL = wechat_simulator.base_url
    settings.WECHAT_OAUTH_APP_ID = wechat_simulator.credentials["sp_appid"]
    settings.WECHAT_OAUTH_APP_SECRET = wechat_simulator.credentials["sp_app_secret"]
    return wechat_simulator


class _Forms(HTMLParser):
    """The forms of a page with their fields (enough for the simulator's consent page)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")


def consent(authorize_url: str, *, user: str = "alice", browser=None) -> str:
    """Play the shopper's browser on WeChat's side: open the authorize URL and, when the
    consent page shows, pick `user`. Returns the URL WeChat sends the browser back to."""
    browser = browser or requests.Session()
    page = browser.get(authorize_url, allow_redirects=False, timeout=5)
    if page.status_code in (301, 302, 303):
        return page.headers["Location"]  # silent snsapi_base: the user was remembered
    assert page.status_code == 200, page.text
    parser = _Forms()
    parser.feed(page.text)
    form = next(f for f in parser.forms if f["fields"].get("user") == user)
    answer = browser.post(
        urljoin(authorize_url, form["action"]), data=form["fields"], allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["Location"]


def follow_back(client: Client, url: str, mall):
    """Deliver WeChat's redirect to the mall's callback through the test client."""
    parts = urlsplit(url)
    assert parts.hostname == mall.primary_host.split(":")[0]
    return client.get(f"{parts.path}?{parts.query}")


def wechat_sign_in(client: Client, mall, *, user: str = "alice", scope: str = "snsapi_base",
                   next_url: str = "/me/", browser=None):
    start = client.post("/login/wechat/", {"scope": scope, "next": next_url, "agree": "on"})
    assert start.status_code == 302, start.content
    return follow_back(client, consent(start["Location"], user=user, browser=browser), mall)
