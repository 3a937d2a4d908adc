"""The shopper's face of a mall: the home page. Catalogue pages are in catalog_views."""

from django.shortcuts import render

from storefront.catalog.selectors import home_sections
from storefront.orders.selectors import discount_rules_active
from storefront.web.page_cache import shopper_cache


@shopper_cache()
def home(request):
    sections = home_sections()
    return render(
        request, "storefront/home.html",
        {"tab": "home", "sections": sections,
         "promotions": discount_rules_active() if sections.products else []},
    )
