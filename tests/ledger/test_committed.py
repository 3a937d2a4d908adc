"""Rules that act at COMMIT, and two transactions posting one key at once: real commits on
real PostgreSQL (transactional tests; the schemas are dropped afterwards)."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction

from core.errors import DomainError
from storefront.ledger.models import Account, JournalEntry, JournalLeg
from storefront.ledger.services import Leg, entry_post
from tenants import services as tenant_services
from tests.conftest import OWNER_PASSWORD, ensure_default_plan, unique_slug
from tests.ledger.conftest import sale

pytestmark = pytest.mark.usefixtures("committed_cleanup")


@pytest.fixture
def committed_mall():
    ensure_default_plan()
    merchant = tenant_services.merchant_signup(
        name="Ledger Mall", slug=unique_slug("ledger"), owner_email="o@example.com",
        password=OWNER_PASSWORD,
    ).merchant
    connection.set_tenant(merchant)
    yield merchant
    connection.set_schema_to_public()


def test_an_entry_committed_without_legs_is_refused_at_commit(committed_mall):
    with pytest.raises(IntegrityError, match="has 0 leg"), transaction.atomic():
        JournalEntry.objects.create(source="manual", source_key="M1")
    assert not JournalEntry.objects.exists()


def test_a_posted_entry_commits(committed_mall):
    with transaction.atomic():
        entry = entry_post(source="payment", source_key="P1", legs=sale(100))
    assert list(JournalLeg.objects.filter(entry=entry).values_list("amount_fen", flat=True)
                .order_by("amount_fen")) == [-100, 100]


def waiting_on_a_lock(timeout: float = 20.0) -> None:
    """Return once another backend of this database waits on a lock (the second poster,
    held by the first's uncommitted rows); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%ledger%' "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    pytest.fail("the second transaction never waited for the first")


def race(merchant, *, first_legs, second_legs, first_commits=True) -> dict:
    """The first transaction posts and holds; the second posts the same key, must wait;
    then the first commits (or rolls back) and the second finishes."""
    posted, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def post(name: str, legs, *, holds: bool):
        try:
            connection.set_tenant(merchant)
            with transaction.atomic():
                outcome[name] = entry_post(source="payment", source_key="P1", legs=legs,
                                           order_id=1)
                if holds:
                    posted.set()
                    release.wait(30)
                    transaction.set_rollback(not first_commits)
        except Exception as exc:  # asserted by the caller
            outcome[name] = exc
        finally:
            posted.set()
            connection.close()

    threads = [
        threading.Thread(target=post, args=("first", first_legs), kwargs={"holds": True}),
        threading.Thread(target=post, args=("second", second_legs), kwargs={"holds": False}),
    ]
    threads[0].start()
    assert posted.wait(30)
    threads[1].start()
    try:
        waiting_on_a_lock()
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    return outcome


@pytest.mark.parametrize("accounts_exist", [False, True], ids=["new-accounts", "old-accounts"])
def test_two_transactions_posting_one_key_post_once(committed_mall, accounts_exist):
    """With new accounts the second waits on the first's account rows; with existing ones,
    on its entry's unique key. Either way it returns the first's entry, no error."""
    if accounts_exist:
        entry_post(source="payment", source_key="P0", legs=sale(1))
    before = JournalEntry.objects.count()
    outcome = race(committed_mall, first_legs=sale(100), second_legs=sale(100))
    first, second = outcome["first"], outcome["second"]
    assert isinstance(first, JournalEntry), first
    assert isinstance(second, JournalEntry), second
    assert second.pk == first.pk
    assert JournalEntry.objects.count() == before + 1
    assert JournalLeg.objects.filter(entry=first).count() == 2
    assert Account.objects.count() == 2


def test_a_concurrent_replay_with_other_money_is_a_409(committed_mall):
    outcome = race(committed_mall, first_legs=sale(100), second_legs=sale(120))
    assert isinstance(outcome["first"], JournalEntry)
    assert isinstance(outcome["second"], DomainError)
    assert outcome["second"].code == "ledger_source_key_reused"
    assert list(JournalLeg.objects.values_list("amount_fen", flat=True).order_by("id")) == [
        100, -100
    ]


def test_when_the_first_rolls_back_the_second_posts(committed_mall):
    outcome = race(committed_mall, first_legs=sale(100),
                   second_legs=[Leg("wechat_clearing", 70), Leg("unapplied_receipts", -70)],
                   first_commits=False)
    second = outcome["second"]
    assert isinstance(second, JournalEntry), second
    assert list(JournalEntry.objects.values_list("pk", flat=True)) == [second.pk]
    assert sorted(JournalLeg.objects.values_list("account__code", "amount_fen")) == [
        ("unapplied_receipts", -70), ("wechat_clearing", 70)
    ]
