"""The recruitment tree and the customer binding, kept apart (DESIGN §6)."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.utils import timezone

from core.actors import Actor
from storefront.distribution import binding, services, tree
from storefront.distribution.errors import JoinNotAllowed, RecruitmentCycle
from storefront.distribution.models import (
    INVITE_ALPHABET,
    BindingChange,
    Distributor,
    DistributorEvent,
    RecruitmentChange,
)
from tests.distribution.conftest import make_chain, make_shopper
from tests.race import race

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def test_invite_codes_are_short_and_unambiguous(rules):
    codes = {d.invite_code for d in make_chain(30)}
    assert len(codes) == 30
    assert all(len(code) == 6 and set(code) <= set(INVITE_ALPHABET) for code in codes)
    assert not set("".join(codes)) & set("01OI")


def test_joining_is_free_and_follows_the_malls_mode(rules):
    shopper = make_shopper()
    rules.join_mode = "apply"
    rules.save()
    applicant = services.distributor_join(shopper=shopper, note="我有很多朋友")
    assert applicant.status == "pending"
    assert services.distributor_join(shopper=shopper) == applicant  # asking again
    services.distributor_approve(distributor_id=applicant.pk, staff_id=7)
    moves = list(DistributorEvent.objects.filter(distributor=applicant)
                 .values_list("from_status", "to_status", "actor_kind"))
    assert moves == [("", "pending", "shopper"), ("pending", "active", "staff")]

    rules.join_mode = "invite"
    rules.save()
    with pytest.raises(JoinNotAllowed):
        services.distributor_join(shopper=make_shopper())
    invited = services.distributor_join(shopper=make_shopper(),
                                        invite_code=applicant.invite_code.lower())
    assert invited.recruiter_id == applicant.pk and invited.status == "active"

    rules.join_mode = "assigned"
    rules.save()
    with pytest.raises(JoinNotAllowed):
        services.distributor_join(shopper=make_shopper(), invite_code=applicant.invite_code)
    assigned = services.distributor_assign(shopper=make_shopper(), staff_id=7)
    assert assigned.joined_via == "staff"


def test_the_path_gives_the_chain_and_the_team(rules):
    a, b, c, d = make_chain(4)
    assert d.path == f"/{a.pk}/{b.pk}/{c.pk}/{d.pk}/" and d.depth == 3
    assert [x.pk for x in tree.upline(d, 2)] == [c.pk, b.pk]
    Distributor.objects.filter(pk__in=[c.pk, d.pk]).update(sales_fen=1000)
    totals = tree.team_totals(Distributor.objects.get(pk=a.pk))
    assert (totals.members, totals.direct, totals.sales_fen) == (3, 1, 2000)


def test_moving_a_distributor_moves_their_whole_team_and_is_recorded(rules):
    a, b, c = make_chain(3)
    (x,) = make_chain(1)
    tree.recruiter_change(distributor_id=b.pk, recruiter_id=x.pk, actor=Actor.staff(3),
                          reason="reassigned")
    c.refresh_from_db()
    assert c.path == f"/{x.pk}/{b.pk}/{c.pk}/" and c.depth == 2
    change = RecruitmentChange.objects.get(distributor=b)
    assert (change.from_recruiter_id, change.to_recruiter_id) == (a.pk, x.pk)


def test_a_recruitment_that_would_make_a_cycle_is_refused(rules):
    a, b, c = make_chain(3)
    with pytest.raises(RecruitmentCycle):
        tree.recruiter_change(distributor_id=a.pk, recruiter_id=c.pk, actor=Actor.staff(3))
    with pytest.raises(RecruitmentCycle):
        tree.recruiter_change(distributor_id=a.pk, recruiter_id=a.pk, actor=Actor.staff(3))
    a.refresh_from_db()
    assert a.recruiter_id is None and not RecruitmentChange.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_recruitments_cannot_make_a_cycle(committed_cleanup, mall):
    """A under B and B under A at the same moment: each alone is legal, together they
    would be a cycle. The tree lock makes the second see the first's path."""
    (a,) = make_chain(1)
    (b,) = make_chain(1)
    result = race([
        partial(tree.recruiter_change, distributor_id=a.pk, recruiter_id=b.pk,
                actor=Actor.staff(1)),
        partial(tree.recruiter_change, distributor_id=b.pk, recruiter_id=a.pk,
                actor=Actor.staff(1)),
    ], tenant=mall)
    assert sorted(result.labels().elements()) == ["ok", "recruitment_cycle"]
    a.refresh_from_db()
    b.refresh_from_db()
    assert not (a.path.startswith(b.path) and b.path.startswith(a.path))


def _touch(shopper, distributor, when):
    return binding.binding_touch(shopper=shopper, distributor=distributor, source="link",
                                 now=when)


def test_first_touch_valid_30_days(rules):
    rules.binding_mode, rules.binding_days = "first_touch_days", 30
    rules.save()
    (first,), (second,) = make_chain(1), make_chain(1)
    shopper, day0 = make_shopper(), timezone.now()
    assert _touch(shopper, first, day0)
    assert not _touch(shopper, second, day0 + 10 * DAY)  # day 10: still the first's
    assert binding.bound_distributor(shopper.pk, at=day0 + 10 * DAY) == first
    assert binding.bound_distributor(shopper.pk, at=day0 + 31 * DAY) is None  # ran out
    assert _touch(shopper, second, day0 + 31 * DAY)  # day 31: free to rebind
    assert binding.bound_distributor(shopper.pk, at=day0 + 31 * DAY) == second
    history = list(BindingChange.objects.filter(shopper=shopper)
                   .values_list("from_distributor", "to_distributor"))
    assert history == [(None, first.pk), (first.pk, second.pk)]


def test_last_touch_with_a_7_day_protection_period(rules):
    rules.binding_mode, rules.protection_days = "last_touch", 7
    rules.save()
    (first,), (second,) = make_chain(1), make_chain(1)
    shopper, day0 = make_shopper(), timezone.now()
    assert _touch(shopper, first, day0)
    assert not _touch(shopper, second, day0 + 6 * DAY)  # protected
    assert _touch(shopper, second, day0 + 8 * DAY)  # last touch wins after
    assert binding.bound_distributor(shopper.pk) == second


def test_permanent_first_touch_never_rebinds(rules):
    (first,), (second,) = make_chain(1), make_chain(1)
    shopper = make_shopper()
    assert _touch(shopper, first, timezone.now())
    assert not _touch(shopper, second, timezone.now() + 400 * DAY)


def test_bind_new_customers_only_skips_a_shopper_who_has_paid(rules, plan, sku):
    from tests.distribution.conftest import pay, place

    rules.bind_new_customers_only = True
    rules.save()
    (distributor,) = make_chain(1)
    old_customer = make_shopper()
    pay(place(old_customer, (sku, 1)))
    assert not _touch(old_customer, distributor, timezone.now())
    assert _touch(make_shopper(), distributor, timezone.now())
    # A new customer's first order through the link binds them (their own payment does
    # not make them an old customer).
    newcomer = make_shopper()
    pay(place(newcomer, (sku, 1), referrer=distributor))
    assert binding.bound_distributor(newcomer.pk) == distributor


def test_an_order_through_a_link_binds_the_buyer_and_is_attributed(rules, plan, sku):
    from storefront.distribution.models import OrderAttribution
    from tests.distribution.conftest import pay, place

    (distributor,) = make_chain(1)
    buyer = make_shopper()
    order = pay(place(buyer, (sku, 1), referrer=distributor))
    assert binding.bound_distributor(buyer.pk) == distributor
    # A later order without the link is still theirs (permanent first touch).
    again = pay(place(buyer, (sku, 1)))
    assert OrderAttribution.objects.get(order=again).distributor_id == distributor.pk
    assert OrderAttribution.objects.get(order=order).distributor_id == distributor.pk


def test_an_open_mall_may_enroll_a_buyer_after_a_purchase(rules, plan, sku):
    from tests.distribution.conftest import pay, place

    rules.enroll_buyers = True
    rules.save()
    (distributor,) = make_chain(1)
    buyer = make_shopper()
    pay(place(buyer, (sku, 1), referrer=distributor))
    enrolled = Distributor.objects.get(shopper=buyer)
    assert enrolled.joined_via == "purchase" and enrolled.recruiter_id == distributor.pk
