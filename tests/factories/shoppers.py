import factory

from storefront.shoppers.models import Address, Shopper


class ShopperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shopper

    phone = factory.Sequence(lambda n: f"1380000{n:04d}")
    nickname = factory.Sequence(lambda n: f"shopper{n}")


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
