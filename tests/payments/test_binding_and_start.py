import io

import pytest
from django.db import connection

from core.actors import Actor
from core.errors import DomainError
from storefront.orders.services import CheckoutItem, order_place
from storefront.payments import services
from storefront.payments.models import PaymentChannel
from tenants.models import WeChatBinding
from tenants.secrets import secret_decrypt
from tenants.wechat_binding import binding_save
from tests.factories.catalog import SkuFactory
from tests.factories.shoppers import AddressFactory


def test_binding_is_verified_with_wechat_and_secret_encrypted(
    make_merchant, wechat_settings, sub_merchant
):
    merchant = make_merchant().merchant
    binding = binding_save(
        merchant=merchant, actor=Actor.staff(1), sub_mchid=sub_merchant["sub_mchid"],
        sub_appid=sub_merchant["sub_appid"], app_secret="0123456789abcdef0123456789abcdef",
    )
    assert binding.status == "pending"  # until a platform admin approves it
    assert binding.profit_sharing_max_ratio_bp == sub_merchant["max_ratio"]
    assert "0123456789abcdef" not in binding.app_secret_encrypted
    assert secret_decrypt(binding.app_secret_encrypted) == "0123456789abcdef0123456789abcdef"


def test_unknown_sub_merchant_is_refused_and_nothing_saved(make_merchant, wechat_settings):
    merchant = make_merchant().merchant
    with pytest.raises(DomainError) as excinfo:
        binding_save(merchant=merchant, actor=Actor.staff(1), sub_mchid="1999999999",
                     sub_appid="wx" + "a" * 16)
    assert excinfo.value.status == 422
    assert not WeChatBinding.objects.exists()


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"sub_mchid": "12ab"}, "sub_mchid"),
        ({"sub_appid": "notanappid"}, "sub_appid"),
        ({"sub_appid": ""}, "sub_appid"),
        ({"app_secret": "short"}, "app_secret"),
    ],
)
def test_binding_input_is_validated(make_merchant, wechat_settings, sub_merchant, fields, bad):
    merchant = make_merchant().merchant
    arguments = {"sub_mchid": sub_merchant["sub_mchid"], "sub_appid": sub_merchant["sub_appid"]}
    arguments.update(fields)
    with pytest.raises(DomainError) as excinfo:
        binding_save(merchant=merchant, actor=Actor.staff(1), **arguments)
    assert bad in excinfo.value.fields
    assert not WeChatBinding.objects.exists()


def test_a_mall_without_binding_cannot_take_payments(mall, wechat_settings):
    sku = SkuFactory()
    address = AddressFactory()
    order = order_place(
        shopper=address.shopper, items=[CheckoutItem(sku.pk, 1)], address_id=address.pk
    )
    with pytest.raises(DomainError) as excinfo:
        services.payment_start(order=order, shopper=address.shopper, channel="native")
    assert excinfo.value.code == "payments_unavailable"
    assert excinfo.value.status == 503


def test_payment_start_is_reused_and_time_expire_is_the_deadline(mall, paying_mall, sim):
    merchant, sku, shopper, address = paying_mall(mall)
    order = order_place(
        shopper=shopper, items=[CheckoutItem(sku.pk, 1)], address_id=address.pk,
        referrer_code=None,
    )
    first = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    again = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.NATIVE)
    assert first.payment.pk == again.payment.pk
    other = services.payment_start(order=order, shopper=shopper, channel=PaymentChannel.H5)
    assert other.payment.out_trade_no.endswith("02")
    transaction = next(
        tx for tx in sim.simulator.state.transactions.values()
        if tx.out_trade_no == first.payment.out_trade_no
    )
    assert transaction.time_expire is not None
    assert abs(transaction.time_expire.timestamp() - order.pay_deadline.timestamp()) < 1
    assert connection.schema_name == mall.schema_name


@pytest.mark.parametrize(
    ("agent", "mobile", "channel"),
    [
        ("Mozilla/5.0 (iPhone) MicroMessenger/8.0", True, "jsapi"),
        ("Mozilla/5.0 (iPhone) Safari", True, "h5"),
        ("Mozilla/5.0 (X11; Linux) Chrome", False, "native"),
    ],
)
def test_channel_follows_the_client(agent, mobile, channel):
    assert services.channel_for_client(user_agent=agent, is_mobile=mobile) == channel


def test_secrets_rotate_to_a_new_key(make_merchant, wechat_settings, sub_merchant, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from tenants import secrets

    merchant = make_merchant().merchant
    binding_save(
        merchant=merchant, actor=Actor.staff(1), sub_mchid=sub_merchant["sub_mchid"],
        sub_appid=sub_merchant["sub_appid"], app_secret="f" * 32,
    )
    old_key = settings.SECRETS_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEYS = [new_key, old_key]
    secrets._cipher.cache_clear()
    try:
        call_command("rotate_secrets", stdout=io.StringIO())
        settings.SECRETS_ENCRYPTION_KEYS = [new_key]  # the old key is gone
        secrets._cipher.cache_clear()
        stored = WeChatBinding.objects.get(merchant=merchant).app_secret_encrypted
        assert secret_decrypt(stored) == "f" * 32
    finally:
        secrets._cipher.cache_clear()
