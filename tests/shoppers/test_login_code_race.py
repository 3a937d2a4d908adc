"""A real race on PostgreSQL: five requests verify the same code at once; one signs in."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from storefront.shoppers import services
from storefront.shoppers.errors import LoginCodeRefused
from storefront.shoppers.models import LoginCode, Shopper
from storefront.shoppers.senders import MemoryCodeSender
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan

pytestmark = pytest.mark.usefixtures("committed_cleanup")

PHONE = "13700001111"


def test_five_concurrent_verifications_of_one_code_sign_in_once():
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Race Mall", slug="code-race", owner_email="o@example.com", password=OWNER_PASSWORD
    ).merchant
    connection.set_tenant(merchant)
    services.login_code_request(phone=PHONE)
    code = MemoryCodeSender.last_code(PHONE)

    barrier = threading.Barrier(5)
    outcomes: list[object] = []
    lock = threading.Lock()

    def verify():
        try:
            connection.set_tenant(merchant)
            barrier.wait(timeout=10)
            try:
                shopper = services.login_code_verify(phone=PHONE, code=code)
                result: object = ("signed in", shopper.pk)
            except LoginCodeRefused as exc:
                result = exc.code
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=verify) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    connection.set_tenant(merchant)
    signed_in = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
    assert len(outcomes) == 5
    assert len(signed_in) == 1, outcomes
    assert set(outcomes) - set(signed_in) <= {"login_code_expired", "login_code_attempts_exceeded"}
    assert Shopper.objects.filter(phone=PHONE).count() == 1
    assert Shopper.objects.get(phone=PHONE).pk == signed_in[0][1]
    row = LoginCode.objects.get(phone=PHONE)
    assert row.used_at is not None
    assert row.attempts <= 5
    connection.set_schema_to_public()
