import os

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants import services
from tenants.demo import demo_mall_seed
from tenants.selectors import merchant_by_slug

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example.com"


class Command(BaseCommand):
    help = "Create the demo merchant 'demo' with a staff owner, unless it exists already."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_OWNER_PASSWORD", "mall-demo-8000")
        merchant = merchant_by_slug(slug=DEMO_SLUG)
        if merchant is None:
            merchant = services.merchant_signup(
                name="演示商城 Demo Mall", slug=DEMO_SLUG, owner_email=DEMO_EMAIL,
                password=password,
            ).merchant
            self.stdout.write(f"demo merchant created: {merchant.home_url}")
        demo_mall_seed(
            merchant=merchant,
            sub_mchid=os.environ.get("DEMO_SUB_MCHID", ""),
            sub_appid=os.environ.get("DEMO_SUB_APPID", ""),
        )
        scheme = settings.PLATFORM_SCHEME
        self.stdout.write(
            f"demo console: {scheme}://{merchant.primary_host}/console/  "
            f"user {DEMO_EMAIL}  password {password}"
        )
