"""The demo mall of `make run`: a few goods with specs and pictures, shipping, a discount,
and (when WeChat Pay is configured) a bound sub-merchant, all made through the same
services staff and platform admins use. Run once; a second `make run` finds the mall and
leaves it alone."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from PIL import Image, ImageDraw

from core.actors import Actor
from storefront.catalog import services as catalog
from storefront.catalog.models import Product
from storefront.catalog.services import SpecDimensionInput
from storefront.distribution import levels, plans, program_settings
from storefront.distribution.models import CommissionPlan
from storefront.orders.models import DiscountRule, ShippingRegionFee, ShippingTemplate
from tenants import wechatpay_gateway
from tenants.models import Merchant, WeChatBinding
from tenants.wechat_binding import binding_approve, binding_save

GOODS = [
    # title, subtitle, category, base price (fen), colour, dimensions {name: values}
    ("夏季新款碎花连衣裙", "雪纺面料 · 清凉透气", "女装", 15900, (232, 121, 149),
     {"颜色": ["粉色", "蓝色"], "尺码": ["S", "M", "L"]}),
    ("纯棉圆领短袖T恤", "新疆长绒棉", "男装", 5900, (76, 132, 201),
     {"颜色": ["白色", "黑色", "灰色"], "尺码": ["M", "L", "XL"]}),
    ("云南古树普洱茶饼 357g", "2019年春茶", "茶叶", 29800, (120, 85, 60), {}),
    ("手工牛轧糖礼盒", "12枚装 · 伴手礼", "零食", 6800, (240, 200, 120),
     {"口味": ["原味", "抹茶", "蔓越莓"]}),
]


def _picture(colour: tuple[int, int, int], label: str) -> SimpleUploadedFile:
    image = Image.new("RGB", (800, 800), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 720, 720), outline=(255, 255, 255), width=12)
    draw.text((120, 380), label, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(f"{label}.png", buffer.getvalue(), content_type="image/png")


def demo_catalogue_seed() -> None:
    """Categories, goods with spec matrices and stock, one picture each, on the shelf."""
    categories: dict[str, int] = {}
    for index, (title, subtitle, category, price, colour, dimensions) in enumerate(GOODS):
        if category not in categories:
            categories[category] = catalog.category_create(name=category).pk
        product = catalog.product_create(
            title=title, subtitle=subtitle, category_id=categories[category],
            base_price_fen=price, market_price_fen=price * 13 // 10, initial_stock=50,
            is_recommended=True, sort_weight=100 - index,
            dimensions=[SpecDimensionInput(name=n, values=v) for n, v in dimensions.items()],
            description_html=f"<p>{subtitle}</p><p>演示商品，欢迎下单体验。</p>",
        )
        catalog.product_image_add(product_id=product.pk, upload=_picture(colour, f"demo-{index}"))
        catalog.product_set_shelf(product_id=product.pk, on_shelf=True)
    template = ShippingTemplate.objects.create(
        name="全国包邮满99", default_fee_fen=800, free_above_fen=9900, is_default=True
    )
    ShippingRegionFee.objects.create(template=template, provinces=["新疆", "西藏"], fee_fen=2000)
    DiscountRule.objects.create(name="满200减20", threshold_fen=20000, amount_off_fen=2000)


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
        if not CommissionPlan.objects.exists():
            demo_distribution_seed()
