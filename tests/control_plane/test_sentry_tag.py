"""Sentry events raised while serving a mall carry that mall's schema as a tag."""

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from tests.conftest import host_client

pytestmark = pytest.mark.django_db


class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.fixture
def sentry_events():
    transport = CapturingTransport()
    sentry_sdk.init(dsn="http://public@sentry.invalid/1", transport=transport,
                    default_integrations=True)
    yield transport.events
    sentry_sdk.init(dsn=None)


def test_an_error_in_a_mall_is_tagged_with_its_schema(make_merchant, sentry_events, monkeypatch):
    from storefront.web import views

    merchant = make_merchant().merchant

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "home_sections", broken)
    client = host_client(merchant)
    client.raise_request_exception = False

    assert client.get("/").status_code == 500
    sentry_sdk.flush()
    tagged = [e for e in sentry_events if e.get("tags", {}).get("tenant_schema")]
    assert tagged and tagged[-1]["tags"]["tenant_schema"] == merchant.schema_name
