"""Real races on PostgreSQL over sign-in codes: concurrent verifications of one code sign
in once, and concurrent requests for one phone are serialised by its advisory lock."""

from __future__ import annotations

import pytest
from django.db import connection

from storefront.shoppers import services
from storefront.shoppers.errors import LoginCodeExpired
from storefront.shoppers.models import LoginCode, Shopper
from storefront.shoppers.senders import MemoryCodeSender
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.factories.shoppers import AGREED
from tests.race import race, write_at

pytestmark = pytest.mark.usefixtures("committed_cleanup")

PHONE = "13700001111"


@pytest.fixture
def race_mall():
    """A committed mall whose schema is active for the test body."""
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Race Mall", slug="code-race", owner_email="o@example.com", password=OWNER_PASSWORD
    ).merchant
    connection.set_tenant(merchant)
    yield merchant
    connection.set_schema_to_public()


def _verify(code: str) -> int:
    return services.login_code_verify(consent=AGREED, phone=PHONE, code=code).pk


def test_five_concurrent_verifications_of_one_code_sign_in_once(race_mall):
    services.login_code_request(consent=AGREED, phone=PHONE)
    code = MemoryCodeSender.last_code(PHONE)

    result = race([lambda: _verify(code)] * 5, tenant=race_mall)

    assert result.peak > 1
    labels = result.labels()
    assert labels["ok"] == 1, result.outcomes
    assert set(labels) - {"ok"} <= {"login_code_expired", "login_code_attempts_exceeded"}
    assert Shopper.objects.filter(phone=PHONE).count() == 1
    assert Shopper.objects.get(phone=PHONE).pk == result.values()[0]
    row = LoginCode.objects.get(phone=PHONE)
    assert row.used_at is not None
    assert row.attempts <= 5


def test_a_code_spent_by_another_request_after_the_check_signs_nobody_else_in(race_mall):
    """The exact interleaving: this verification has checked the code, another one spends
    it before this one does. Spending is a conditional UPDATE (used_at IS NULL), so this
    one is refused instead of signing in a second time."""
    services.login_code_request(consent=AGREED, phone=PHONE)
    code = MemoryCodeSender.last_code(PHONE)

    with write_at("storefront.shoppers.services._code_matches", lambda: _verify(code),
                  tenant=race_mall) as rival, pytest.raises(LoginCodeExpired):
        _verify(code)

    assert (rival.outcome.label, rival.blocked) == ("ok", False)
    assert rival.outcome.value == Shopper.objects.get(phone=PHONE).pk
    assert LoginCode.objects.get(phone=PHONE).attempts == 2


def test_a_code_request_waits_for_the_other_one_of_that_phone(race_mall):
    """A second request for the phone arrives when the first has checked the limits but
    not yet written its code (it is hashing it). Without the phone's lock both would pass
    the checks and two codes would go out; with it the second waits, then sees the new
    code and is rate limited."""
    with write_at("storefront.shoppers.services._code_hash",
                  lambda: services.login_code_request(consent=AGREED, phone=PHONE),
                  tenant=race_mall) as rival:
        services.login_code_request(consent=AGREED, phone=PHONE)

    assert (rival.outcome.label, rival.blocked) == ("login_code_rate_limited", True)
    assert LoginCode.objects.filter(phone=PHONE).count() == 1
    assert [sent.phone for sent in MemoryCodeSender.outbox] == [PHONE]
