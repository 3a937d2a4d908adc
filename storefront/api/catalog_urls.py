from django.urls import path

from storefront.api import catalog

urlpatterns = [
    path("categories/", catalog.CategoryTreeApi.as_view(), name="api-categories"),
    path("products/", catalog.ProductListApi.as_view(), name="api-products"),
    path("products/<int:product_id>/", catalog.ProductDetailApi.as_view(),
         name="api-product"),
]
