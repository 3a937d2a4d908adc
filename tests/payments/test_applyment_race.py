"""Real races on PostgreSQL: refreshes running at once (the beat task, the owner's
"refresh now", an admin's check) that all see FINISHED bind the mall once."""

from __future__ import annotations

import pytest
from django.db import connection

from core.actors import Actor
from tenants import applyment as onboarding
from tenants import services as tenant_services
from tenants.models import (
    ApplymentState,
    BindingStatus,
    WeChatApplymentStatusChange,
    WeChatBinding,
    WeChatBindingStatusChange,
)
from tests.conftest import OWNER_PASSWORD, ensure_default_plan
from tests.payments.test_applyment import applied, finish
from tests.race import race

pytestmark = pytest.mark.usefixtures("committed_cleanup")


@pytest.fixture
def race_mall():
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Applyment Race", slug="applyment-race", owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    connection.set_tenant(merchant)
    yield merchant
    connection.set_schema_to_public()


def test_concurrent_refreshes_of_a_finished_application_bind_once(race_mall, sim,
                                                                  wechat_settings):
    applyment = applied(race_mall, sim)
    finish(sim, applyment)

    result = race([lambda: onboarding.applyment_refresh(
        applyment=applyment, actor=Actor.system()).state] * 4, tenant=race_mall)

    assert result.peak > 1
    assert result.labels()["ok"] == 4, result.outcomes
    assert set(result.values()) == {ApplymentState.FINISHED}
    binding = WeChatBinding.objects.get(merchant=race_mall)
    assert binding.status == BindingStatus.APPROVED
    assert WeChatBindingStatusChange.objects.filter(
        binding=binding, to_status="approved").count() == 1
    assert WeChatApplymentStatusChange.objects.filter(
        applyment=applyment, to_status="finished").count() == 1
