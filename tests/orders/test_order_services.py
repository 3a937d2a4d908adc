import datetime as dt

import pytest
from django.utils import timezone

from core.actors import Actor
from core.errors import DomainError
from storefront.orders import services
from storefront.orders.models import Order, OrderStatus, OrderStatusChange
from storefront.orders.transitions import ALLOWED_TRANSITIONS, order_transition
from tests.factories.catalog import SkuFactory
from tests.factories.shoppers import AddressFactory, ShopperFactory

ALL = [status.value for status in OrderStatus]


def test_place_order_reserves_stock_and_snapshots(place, sku, buyer):
    order = place((sku, 3), note="  ring the bell ")

    sku.refresh_from_db()
    assert sku.stock == 7
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (order.goods_fen, order.discount_fen, order.shipping_fen, order.total_fen) == (
        29700, 0, 800, 30500
    )
    line = order.lines.get()
    assert (line.unit_price_fen, line.quantity, line.paid_fen) == (9900, 3, 29700)
    assert line.title == sku.product.title
    assert order.address["city"] == "杭州"
    assert order.note == "ring the bell"
    assert len(order.number) == 20
    assert order.pay_deadline > timezone.now()
    change = order.status_changes.get()
    assert (change.from_status, change.to_status, change.actor_kind) == (
        "", "pending_payment", "shopper"
    )


def test_client_prices_are_ignored(place, sku):
    """The service takes no price; a changed price between quote and order is a 409."""
    with pytest.raises(DomainError) as excinfo:
        place((sku, 1), expected_total_fen=1)
    assert excinfo.value.code == "price_changed"
    assert not Order.objects.exists()
    sku.refresh_from_db()
    assert sku.stock == 10


def test_out_of_stock_changes_nothing(place, sku, mall):
    other = SkuFactory(price_fen=100, stock=1)
    with pytest.raises(DomainError) as excinfo:
        place((other, 1), (sku, 11))
    assert excinfo.value.code == "out_of_stock"
    other.refresh_from_db()
    sku.refresh_from_db()
    assert (other.stock, sku.stock) == (1, 10)
    assert not Order.objects.exists()


def test_off_shelf_or_inactive_sku_is_refused(place, sku):
    sku.product.is_on_shelf = False
    sku.product.save()
    with pytest.raises(DomainError) as excinfo:
        place((sku, 1))
    assert excinfo.value.code == "sku_unavailable"


def test_someone_elses_address_is_refused(place, sku, mall):
    stranger_address = AddressFactory()
    with pytest.raises(DomainError) as excinfo:
        services.order_place(
            shopper=ShopperFactory(), items=[services.CheckoutItem(sku.pk, 1)],
            address_id=stranger_address.pk,
        )
    assert excinfo.value.fields == {"address_id": ["Unknown address."]}


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_bad_quantities_are_refused(place, sku, quantity):
    with pytest.raises(DomainError) as excinfo:
        place((sku, quantity))
    assert excinfo.value.status == 400
    assert not Order.objects.exists()


def test_same_client_token_returns_the_same_order(place, sku):
    first = place((sku, 1), client_token="tok-1")
    second = place((sku, 1), client_token="tok-1")
    assert first.pk == second.pk
    sku.refresh_from_db()
    assert sku.stock == 9


def test_referrer_is_recorded_but_not_self(place, sku, buyer):
    referrer = ShopperFactory()
    assert place((sku, 1), referrer_code=referrer.share_code).referrer == referrer
    assert place((sku, 1), referrer_code=buyer.share_code).referrer is None
    assert place((sku, 1), referrer_code="nobody").referrer is None


def test_shopper_cancels_only_unpaid(place, sku, buyer):
    order = place((sku, 1))
    services.order_mark_paid(order=order, actor=Actor.system())
    with pytest.raises(DomainError) as excinfo:
        services.order_cancel(order=order, actor=Actor.shopper(buyer.pk))
    assert excinfo.value.status == 409
    assert "paid cannot become cancelled" in excinfo.value.message
    sku.refresh_from_db()
    assert sku.stock == 9


def test_full_happy_path_with_timers(place, sku, buyer):
    order = place((sku, 2))
    services.order_mark_paid(order=order, actor=Actor.system())
    sku.refresh_from_db()
    assert sku.sales_count == 2
    services.order_ship(order=order, staff_user_id=1, carrier="顺丰", tracking_number="SF1")
    assert services.order_receive_if_due(order_id=order.pk) is False
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - dt.timedelta(days=11))
    assert services.order_receive_if_due(order_id=order.pk) is True
    Order.objects.filter(pk=order.pk).update(received_at=timezone.now() - dt.timedelta(days=8))
    assert services.order_complete_if_due(order_id=order.pk) is True
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert list(order.status_changes.values_list("to_status", flat=True)) == [
        "pending_payment", "paid", "shipped", "received", "completed"
    ]


def test_ship_requires_carrier_and_tracking(place, sku):
    order = place((sku, 1))
    services.order_mark_paid(order=order, actor=Actor.system())
    with pytest.raises(DomainError) as excinfo:
        services.order_ship(order=order, staff_user_id=1, carrier="", tracking_number="")
    assert set(excinfo.value.fields) == {"carrier", "tracking_number"}
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize("from_status", ALL)
@pytest.mark.parametrize("to_status", ALL)
def test_every_transition_is_allowed_or_refused_by_the_map(place, sku, from_status, to_status):
    order = place((sku, 1))
    Order.objects.filter(pk=order.pk).update(status=from_status)
    allowed = to_status in ALLOWED_TRANSITIONS[from_status]
    if allowed:
        order_transition(order_id=order.pk, to_status=to_status, actor=Actor.system(),
                         reason="test")
        assert Order.objects.get(pk=order.pk).status == to_status
        assert OrderStatusChange.objects.filter(
            order=order, from_status=from_status, to_status=to_status
        ).exists()
    else:
        with pytest.raises(DomainError) as excinfo:
            order_transition(order_id=order.pk, to_status=to_status, actor=Actor.system())
        assert excinfo.value.status == 409
        assert excinfo.value.code == "illegal_order_transition"
        assert Order.objects.get(pk=order.pk).status == from_status
        assert order.status_changes.count() == 1  # only "placed"


def test_allowed_transitions_cover_every_status():
    assert set(ALLOWED_TRANSITIONS) == set(ALL)


def test_an_order_number_drawn_twice_is_drawn_again(place, sku, monkeypatch):
    first = place((sku, 1))
    drawn = iter([first.number, "20991231235959000001"])
    monkeypatch.setattr(services, "_new_order_number", lambda: next(drawn))

    second = place((sku, 1))

    assert second.number == "20991231235959000001"
    assert Order.objects.count() == 2
    sku.refresh_from_db()
    assert sku.stock == 8  # the failed attempt took nothing
