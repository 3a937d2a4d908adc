"""Create forms make one thing however often they are posted (merchant_console.form_once):
a double click or a browser resending a POST whose answer was lost must not make a second
commission plan. Shown on the plan editor's "Save as a new draft"."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from merchant_console.form_once import FIELD
from merchant_console.models import AuditEntry, FormSubmission
from storefront.distribution.models import CommissionPlan
from tests.conftest import host_client
from tests.race import write_at

NEW = "/console/distribution/plans/new/"


def plan_form(token: str, **changes) -> dict:
    form = {"name": "新方案", "tiers": "2", "rate_source": "static", "rate_1": "10",
            "rate_2": "5", "rate_3": "", "payout_route": "transfer",
            "sample_amount_0": "99", "sample_qty_0": "1", FIELD: token}
    return {**form, **changes}


def token_of(page: str) -> str:
    return re.search(rf'name="{FIELD}" value="([^"]+)"', page).group(1)


def owner_client(mall):
    client = host_client(mall)
    client.force_login(get_user_model().objects.get(is_superuser=True))
    return client


@pytest.mark.django_db
def test_the_same_form_posted_twice_makes_one_draft(mall):
    client = owner_client(mall)
    token = token_of(client.get(NEW).content.decode())
    first = client.post(NEW, plan_form(token))
    again = client.post(NEW, plan_form(token))
    plan = CommissionPlan.objects.get(name="新方案")
    assert first.status_code == again.status_code == 302
    assert first.url == again.url == f"/console/distribution/plans/{plan.pk}/"
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["plan.create"]


@pytest.mark.django_db
def test_each_page_has_its_own_token_and_other_fields_are_a_new_draft(mall):
    client = owner_client(mall)
    token = token_of(client.get(NEW).content.decode())
    assert token_of(client.get(NEW).content.decode()) != token
    client.post(NEW, plan_form(token))
    # back, edit, save: the same page's token with other fields is a new submission
    edited = client.post(NEW, plan_form(token, name="另一个方案"))
    assert edited.status_code == 302
    assert CommissionPlan.objects.filter(name__in=["新方案", "另一个方案"]).count() == 2


@pytest.mark.django_db
def test_a_refused_form_may_be_sent_again_with_its_token(mall):
    client = owner_client(mall)
    token = token_of(client.get(NEW).content.decode())
    refused = client.post(NEW, plan_form(token, rate_1="45"))  # over the 30% cap
    assert refused.status_code == 400
    assert not FormSubmission.objects.exists()
    fixed = client.post(NEW, plan_form(token, rate_1="12"))
    assert fixed.status_code == 302
    assert CommissionPlan.objects.filter(name="新方案").count() == 1


def test_two_copies_posted_at_once_make_one_draft(committed_cleanup, make_merchant):
    """The second copy arrives while the first is still in its transaction: it waits on the
    submission's unique key, then follows the first to its plan."""
    mall = make_merchant(name="Once Mall").merchant
    connection.set_tenant(mall)
    client, rival_client = owner_client(mall), owner_client(mall)
    token = token_of(client.get(NEW).content.decode())
    with write_at("merchant_console.distribution.plan_create",
                  lambda: rival_client.post(NEW, plan_form(token)), tenant=mall) as rival:
        first = client.post(NEW, plan_form(token))
    assert rival.blocked
    assert rival.outcome.error is None, rival.outcome.error
    assert first.status_code == rival.outcome.value.status_code == 302
    assert rival.outcome.value.url == first.url
    assert CommissionPlan.objects.filter(name="新方案").count() == 1
    connection.set_schema_to_public()
