"""The catalogue API, served from the page cache with ETags (storefront/web/page_cache.py);
each route names the query parameters its view reads."""

from django.urls import path

from storefront.api import catalog
from storefront.web.page_cache import shopper_cache

urlpatterns = [
    path("categories/", shopper_cache(etag=True)(catalog.CategoryTreeApi.as_view()),
         name="api-categories"),
    path("products/",
         shopper_cache(params=("category", "q", "sort", "page"), etag=True)(
             catalog.ProductListApi.as_view()),
         name="api-products"),
    path("products/<int:product_id>/",
         shopper_cache(marks=("product_views",), etag=True)(catalog.ProductDetailApi.as_view()),
         name="api-product"),
]
