"""The shopper's face of a mall."""

from django.shortcuts import render


def home(request):
    return render(request, "storefront/home.html")
