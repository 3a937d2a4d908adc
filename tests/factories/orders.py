import factory

from storefront.orders.models import DiscountRule, ShippingRegionFee, ShippingTemplate


class ShippingTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingTemplate

    name = "默认运费"
    default_fee_fen = 800
    free_above_fen = 19900
    is_default = True


class ShippingRegionFeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingRegionFee

    template = factory.SubFactory(ShippingTemplateFactory)
    provinces = ["新疆", "西藏"]
    fee_fen = 2500


class DiscountRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiscountRule

    name = "满200减30"
    threshold_fen = 20000
    amount_off_fen = 3000
