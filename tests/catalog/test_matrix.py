"""The SKU matrix: generation from spec dimensions, and regeneration that keeps, adds,
deactivates and reactivates SKUs without ever deleting one."""

import pytest

from core.actors import Actor
from storefront.catalog import services
from storefront.catalog.models import CatalogEvent, Product, Sku, SpecDimension, SpecValue
from storefront.catalog.services import SpecDimensionInput, SpecValueInput
from tests.catalog.conftest import make_product

pytestmark = pytest.mark.django_db


def _values(product) -> dict[str, int]:
    return {value.value: value.pk for value in SpecValue.objects.filter(dimension__product=product)}


def _sku_ids(product) -> list[int]:
    return list(Sku.objects.filter(product=product).order_by("id").values_list("id", flat=True))


def _skus(product) -> list[tuple]:
    return list(
        Sku.objects.filter(product=product)
        .order_by("id")
        .values_list("spec_key", "spec_label", "price_fen", "stock", "is_active")
    )


def test_two_dimensions_make_the_cartesian_product(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"]), ("尺码", ["S", "M", "L"])],
                           base_price_fen=9900, initial_stock=5, market_price_fen=12900)
    v = _values(product)

    assert _skus(product) == [
        (f"{v['红']}-{v['S']}", "颜色:红 / 尺码:S", 9900, 5, True),
        (f"{v['红']}-{v['M']}", "颜色:红 / 尺码:M", 9900, 5, True),
        (f"{v['红']}-{v['L']}", "颜色:红 / 尺码:L", 9900, 5, True),
        (f"{v['蓝']}-{v['S']}", "颜色:蓝 / 尺码:S", 9900, 5, True),
        (f"{v['蓝']}-{v['M']}", "颜色:蓝 / 尺码:M", 9900, 5, True),
        (f"{v['蓝']}-{v['L']}", "颜色:蓝 / 尺码:L", 9900, 5, True),
    ]
    assert set(Sku.objects.filter(product=product).values_list("market_price_fen", flat=True)) == {
        12900}
    assert list(product.dimensions.values_list("name", "position")) == [("颜色", 0), ("尺码", 1)]
    product.refresh_from_db()
    assert (product.min_price_fen, product.max_price_fen) == (9900, 9900)
    assert product.search_text == "碎花连衣裙 红 蓝 s m l"
    assert product.base_price_fen == 9900


def test_no_dimensions_make_one_sku_with_an_empty_key(category):
    product = make_product(category, title="保温杯", base_price_fen=4500)

    assert _skus(product) == [("", "", 4500, 10, True)]
    assert SpecDimension.objects.filter(product=product).count() == 0


def test_changing_dimensions_keeps_adds_and_deactivates(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"]), ("尺码", ["S", "M"])])
    v = _values(product)
    red_m = Sku.objects.get(product=product, spec_key=f"{v['红']}-{v['M']}")
    services.sku_update(product_id=product.pk, sku_id=red_m.pk, price_fen=12000, stock=3)
    before = {sku.spec_key: sku.pk for sku in Sku.objects.filter(product=product)}

    product, change = services.product_update(
        product_id=product.pk, base_price_fen=8800,
        dimensions=[SpecDimensionInput(name="颜色", values=["红", "蓝", "绿"]),
                    SpecDimensionInput(name="尺码", values=["M"])],
    )

    v = _values(product)
    assert set(v) == {"红", "蓝", "绿", "M"}
    green_m = Sku.objects.get(product=product, spec_key=f"{v['绿']}-{v['M']}")
    assert change.kept == [before[f"{v['红']}-{v['M']}"], before[f"{v['蓝']}-{v['M']}"]]
    assert change.added == [green_m.pk]
    assert sorted(change.deactivated) == sorted(
        pk for key, pk in before.items() if key.endswith(f"-{_old_s(before, v)}")
    )
    assert change.reactivated == []
    assert Sku.objects.filter(product=product).count() == 5  # nothing deleted
    red_m.refresh_from_db()
    assert (red_m.price_fen, red_m.stock, red_m.is_active) == (12000, 3, True)
    assert (green_m.price_fen, green_m.stock, green_m.spec_label) == (8800, 0, "颜色:绿 / 尺码:M")
    assert list(Sku.objects.filter(product=product, is_active=False)
                .values_list("spec_label", flat=True).order_by("id")) == [
        "颜色:红 / 尺码:S", "颜色:蓝 / 尺码:S"]
    product.refresh_from_db()
    assert (product.min_price_fen, product.max_price_fen) == (8800, 12000)
    assert product.search_text == "碎花连衣裙 红 蓝 绿 m"
    event = CatalogEvent.objects.filter(action="product_updated").get()
    assert event.changes["matrix"] == {"added": change.added, "deactivated": change.deactivated,
                                       "reactivated": []}


def _old_s(before: dict[str, int], values: dict[str, int]) -> str:
    """The id of the vanished value "S": the second part no current value has."""
    current = {str(pk) for pk in values.values()}
    return next(key.split("-")[1] for key in before if key.split("-")[1] not in current)


def test_reordering_dimensions_keeps_every_sku_and_rewrites_keys(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"]), ("尺码", ["S", "M"])])
    ids_before = _sku_ids(product)

    _, change = services.product_update(
        product_id=product.pk,
        dimensions=[SpecDimensionInput(name="尺码", values=["S", "M"]),
                    SpecDimensionInput(name="颜色", values=["红", "蓝"])],
    )

    v = _values(product)
    assert (change.added, change.deactivated) == ([], [])
    assert sorted(change.kept) == ids_before
    assert _skus(product) == [
        (f"{v['S']}-{v['红']}", "尺码:S / 颜色:红", 9900, 10, True),
        (f"{v['M']}-{v['红']}", "尺码:M / 颜色:红", 9900, 10, True),
        (f"{v['S']}-{v['蓝']}", "尺码:S / 颜色:蓝", 9900, 10, True),
        (f"{v['M']}-{v['蓝']}", "尺码:M / 颜色:蓝", 9900, 10, True),
    ]


def test_renaming_by_id_keeps_the_sku_and_updates_labels_and_search(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"]), ("尺码", ["S", "M"])])
    color, size = product.dimensions.order_by("position")
    v = _values(product)
    ids_before = _sku_ids(product)

    # Swap the two dimension names and rename a value: unique names never collide midway.
    _, change = services.product_update(
        product_id=product.pk,
        dimensions=[
            SpecDimensionInput(id=color.pk, name="尺码", values=[
                SpecValueInput(id=v["红"], value="大红"), SpecValueInput(id=v["蓝"], value="蓝")]),
            SpecDimensionInput(id=size.pk, name="颜色", values=["S", "M"]),
        ],
    )

    assert (change.added, change.deactivated, sorted(change.kept)) == ([], [], ids_before)
    assert _values(product) == {"大红": v["红"], "蓝": v["蓝"], "S": v["S"], "M": v["M"]}
    assert list(Sku.objects.filter(product=product).order_by("id")
                .values_list("spec_label", flat=True)) == [
        "尺码:大红 / 颜色:S", "尺码:大红 / 颜色:M", "尺码:蓝 / 颜色:S", "尺码:蓝 / 颜色:M"]
    product.refresh_from_db()
    assert product.search_text == "碎花连衣裙 大红 蓝 s m"


def test_a_vanished_combination_that_returns_is_reactivated(category):
    product = make_product(category, title="保温杯")
    plain = Sku.objects.get(product=product)

    _, first = services.product_update(
        product_id=product.pk, dimensions=[SpecDimensionInput(name="颜色", values=["白"])])
    white = Sku.objects.get(product=product, is_active=True)
    assert (first.deactivated, first.added) == ([plain.pk], [white.pk])

    _, second = services.product_update(product_id=product.pk, dimensions=[])

    assert (second.kept, second.reactivated, second.deactivated, second.added) == (
        [plain.pk], [plain.pk], [white.pk], [])
    plain.refresh_from_db()
    assert (plain.is_active, plain.price_fen, plain.stock) == (True, 9900, 10)
    assert Sku.objects.filter(product=product).count() == 2


def test_a_sku_switched_off_by_staff_stays_off_when_values_are_added(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"])])
    v = _values(product)
    red = Sku.objects.get(product=product, spec_key=str(v["红"]))
    services.sku_update(product_id=product.pk, sku_id=red.pk, is_active=False)

    _, change = services.product_update(
        product_id=product.pk,
        dimensions=[SpecDimensionInput(name="颜色", values=["红", "蓝", "黑"])],
    )

    red.refresh_from_db()
    assert red.is_active is False
    assert change.reactivated == []
    assert len(change.added) == 1


def test_a_vanished_sku_cannot_be_switched_back_on(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"])])
    v = _values(product)
    red = Sku.objects.get(product=product, spec_key=str(v["红"]))
    services.product_update(product_id=product.pk,
                            dimensions=[SpecDimensionInput(name="颜色", values=["蓝"])])

    with pytest.raises(services.CatalogInvalid) as refused:
        services.sku_update(product_id=product.pk, sku_id=red.pk, is_active=True)

    assert refused.value.fields == {"is_active": ["This SKU's combination is gone."]}
    red.refresh_from_db()
    assert red.is_active is False


def test_prices_follow_sku_changes_and_the_last_active_sku_takes_the_product_off(category):
    product = make_product(category, dimensions=[("颜色", ["红", "蓝"])])
    red, blue = Sku.objects.filter(product=product).order_by("id")

    services.sku_update(product_id=product.pk, sku_id=red.pk, price_fen=5000)
    product.refresh_from_db()
    assert (product.min_price_fen, product.max_price_fen, product.is_on_shelf) == (5000, 9900, True)

    services.sku_update(product_id=product.pk, sku_id=blue.pk, is_active=False)
    product.refresh_from_db()
    assert (product.min_price_fen, product.max_price_fen, product.is_on_shelf) == (5000, 5000, True)

    services.sku_update(product_id=product.pk, sku_id=red.pk, is_active=False)
    product.refresh_from_db()
    assert (product.min_price_fen, product.max_price_fen, product.is_on_shelf) == (0, 0, False)
    assert list(CatalogEvent.objects.filter(product=product).order_by("id")
                .values_list("action", flat=True)) == [
        "product_created", "shelf_on", "sku_updated", "sku_updated", "shelf_off", "sku_updated"]


def test_sku_update_records_who_changed_what(category, mall):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username="owner@example.com")
    product = make_product(category)
    sku = product.skus.get()

    services.sku_update(product_id=product.pk, sku_id=sku.pk, price_fen=8000, stock=7,
                        barcode=" 690123 ", actor=Actor.staff(owner.pk))

    event = CatalogEvent.objects.get(action="sku_updated")
    assert (event.actor, event.sku, event.product) == (Actor.staff(owner.pk), sku, product)
    assert event.changes == {"price_fen": [9900, 8000], "stock": [10, 7],
                             "barcode": ["", "690123"]}


def test_matrix_size_is_capped(category):
    with pytest.raises(services.CatalogInvalid) as refused:
        services.product_create(
            title="袜子", category_id=category.pk, base_price_fen=100,
            dimensions=[SpecDimensionInput(name=f"维度{i}", values=[str(n) for n in range(20)])
                        for i in range(3)],
        )
    assert refused.value.fields == {"dimensions": ["At most 400 combinations per product."]}
    assert Product.objects.count() == 0
