"""The shopper's face of a mall: the home page. Catalogue pages are in catalog_views."""

from django.shortcuts import render

from storefront.catalog.selectors import home_sections
from storefront.web.page_cache import shopper_cache


@shopper_cache()
def home(request):
    return render(
        request, "storefront/home.html", {"tab": "home", "sections": home_sections()}
    )
