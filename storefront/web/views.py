"""The shopper's face of a mall: the home page. Catalogue pages are in catalog_views."""

from django.shortcuts import render

from storefront.catalog.selectors import home_sections


def home(request):
    return render(
        request, "storefront/home.html", {"tab": "home", "sections": home_sections()}
    )
