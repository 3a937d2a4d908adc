import factory
from django.utils import timezone

from storefront.shoppers.legal import Consent
from storefront.shoppers.models import Address, Shopper

# What a shopper who ticked the consent box agreed to while the mall uses the platform's
# default texts (version 0 of each).
AGREED = Consent(terms_version=0, privacy_version=0)


class ShopperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shopper

    phone = factory.Sequence(lambda n: f"1380000{n:04d}")
    nickname = factory.Sequence(lambda n: f"shopper{n}")
    # Every shopper agreed at sign-in (PIPL), to the platform's default texts.
    consent_terms_version = 0
    consent_privacy_version = 0
    consented_at = factory.LazyFunction(timezone.now)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    shopper = factory.SubFactory(ShopperFactory)
    recipient = "张三"
    phone = "13800001234"
    province = "浙江"
    city = "杭州"
    district = "西湖区"
    detail = "文三路 100 号"
    is_default = True
