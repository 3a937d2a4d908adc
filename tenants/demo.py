"""The demo mall of `make run`: a few goods with specs and pictures, shipping, a discount,
banners, and (when WeChat Pay is configured) a bound sub-merchant, all made through the
same services staff and platform admins use. Run once; a second `make run` finds the mall
and only adds what it lacks (a 满减 rule, banners). Pictures are drawn at seed time
(tenants/demo_pictures.py), so nothing binary is committed."""

from __future__ import annotations

from django_tenants.utils import schema_context

from core.actors import Actor
from storefront.catalog import services as catalog
from storefront.catalog.models import Banner, Product
from storefront.catalog.services import SpecDimensionInput
from storefront.distribution import levels, plans, program_settings
from storefront.distribution.models import CommissionPlan
from storefront.orders.models import DiscountRule, ShippingRegionFee, ShippingTemplate
from tenants import wechatpay_gateway
from tenants.demo_pictures import banner_picture, category_picture, product_picture
from tenants.models import Merchant, WeChatBinding
from tenants.wechat_binding import binding_approve, binding_save

GOODS = [
    # title, subtitle, category, base price (fen), colour, picture kind, dimensions
    ("夏季新款碎花连衣裙", "雪纺面料 · 清凉透气", "女装", 15900, (232, 121, 149), "dress",
     {"颜色": ["粉色", "蓝色"], "尺码": ["S", "M", "L"]}),
    ("纯棉圆领短袖T恤", "新疆长绒棉", "男装", 5900, (76, 132, 201), "shirt",
     {"颜色": ["白色", "黑色", "灰色"], "尺码": ["M", "L", "XL"]}),
    ("云南古树普洱茶饼 357g", "2019年春茶", "茶叶", 29800, (120, 85, 60), "disc", {}),
    ("手工牛轧糖礼盒", "12枚装 · 伴手礼", "零食", 6800, (240, 200, 120), "box",
     {"口味": ["原味", "抹茶", "蔓越莓"]}),
    ("陶瓷马克杯 350ml", "哑光釉面 · 可微波", "家居", 3900, (90, 160, 140), "mug",
     {"颜色": ["青瓷", "米白"]}),
    ("玻璃冷泡茶瓶 1L", "高硼硅玻璃 · 带滤网", "家居", 4900, (110, 170, 210), "bottle", {}),
    ("帆布托特包", "加厚帆布 · 大容量", "箱包", 7900, (200, 150, 90), "bag",
     {"颜色": ["卡其", "黑色"]}),
]

BANNERS = [
    # title, colour, picture kind, index in GOODS of the product it opens
    ("夏日上新 · 满200减20", (232, 121, 149), "dress", 0),
    ("好茶好器 · 家居精选", (90, 160, 140), "mug", 4),
]


def demo_promotions_seed() -> None:
    """A 满减 rule and the home banners, each only if the mall has none yet."""
    if not DiscountRule.objects.exists():
        DiscountRule.objects.create(name="满200减20", threshold_fen=20000, amount_off_fen=2000)
    if not Banner.objects.exists():
        titles = [row[0] for row in GOODS]
        for weight, (title, colour, kind, product_index) in enumerate(reversed(BANNERS)):
            product = Product.objects.filter(title=titles[product_index]).first()
            catalog.banner_create(
                title=title, image=banner_picture(colour, kind, f"banner-{weight}"),
                product_id=product.pk if product else None, sort_weight=weight,
            )


def demo_catalogue_seed() -> None:
    """Categories with icons, goods with spec matrices and stock, a drawn product shot
    each, on the shelf; shipping; a 满减 rule and banners."""
    categories: dict[str, int] = {}
    for index, (title, subtitle, category, price, colour, kind, dimensions) in enumerate(GOODS):
        if category not in categories:
            categories[category] = catalog.category_create(
                name=category, icon=category_picture(colour, kind, f"category-{index}"),
            ).pk
        product = catalog.product_create(
            title=title, subtitle=subtitle, category_id=categories[category],
            base_price_fen=price, market_price_fen=price * 13 // 10, initial_stock=50,
            is_recommended=True, sort_weight=100 - index,
            dimensions=[SpecDimensionInput(name=n, values=v) for n, v in dimensions.items()],
            description_html=f"<p>{subtitle}</p><p>演示商品，欢迎下单体验。</p>",
        )
        catalog.product_image_add(
            product_id=product.pk, upload=product_picture(colour, kind, f"demo-{index}")
        )
        catalog.product_set_shelf(product_id=product.pk, on_shelf=True)
    template = ShippingTemplate.objects.create(
        name="全国包邮满99", default_fee_fen=800, free_above_fen=9900, is_default=True
    )
    ShippingRegionFee.objects.create(template=template, provinces=["新疆", "西藏"], fee_fen=2000)
    demo_promotions_seed()


DEMO_LEVELS = [
    # name, rank, rates per tier (bp), conditions to reach it
    ("普通", 0, [1000, 500], {}),
    ("白银", 1, [1200, 500], {"monthly_gmv_fen": 1_000_000}),
    ("黄金", 2, [1500, 600], {"monthly_gmv_fen": 5_000_000}),
]


def demo_distribution_seed() -> None:
    """An open programme, 2 tiers at 10% / 5%, and levels. Commission is available as soon
    as the order is received and settled at once, and a new distributor's withdrawal is not
    held for review (a real mall waits out the after-sales window, settles monthly and
    reviews new accounts' withdrawals), so the demo can withdraw within minutes."""
    program_settings.settings_update(data={
        "join_mode": "open", "settlement": "on_available", "commission_hold_days": 0,
        "withdrawal_review_new_days": 0,
    })
    for name, rank, rates, conditions in DEMO_LEVELS:
        levels.level_create(data={"name": name, "rank": rank, "rates_bp": rates,
                                  "conditions": conditions, "match_all": True})
    plan = plans.plan_create({"name": "标准分销", "tiers": 2, "rates_bp": [1000, 500]})
    plans.plan_activate(plan_id=plan.pk)


def demo_mall_seed(*, merchant: Merchant, sub_mchid: str = "", sub_appid: str = "") -> None:
    """Bind the demo mall to a (simulated) sub-merchant if it is not bound yet, and fill
    an empty catalogue. The simulator's sub-merchant is the platform's own, so the system
    approves the claim, as a platform admin would, and `make run` can take payments."""
    already_bound = WeChatBinding.objects.filter(merchant=merchant).exists()
    if sub_mchid and sub_appid and wechatpay_gateway.is_configured() and not already_bound:
        binding = binding_save(merchant=merchant, actor=Actor.system(), sub_mchid=sub_mchid,
                               sub_appid=sub_appid)
        binding_approve(binding=binding, sub_mchid=sub_mchid, actor=Actor.system(),
                        reason="the demo mall of make run, on the simulator's sub-merchant")
    with schema_context(merchant.schema_name):
        if not Product.objects.exists():
            demo_catalogue_seed()
        demo_promotions_seed()
        if not CommissionPlan.objects.exists():
            demo_distribution_seed()
