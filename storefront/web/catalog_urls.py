from django.urls import path

from storefront.web import catalog_views

urlpatterns = [
    path("categories/", catalog_views.categories, name="categories"),
    path("categories/<int:category_id>/", catalog_views.category, name="category"),
    path("search/", catalog_views.search, name="search"),
    path("products/<int:product_id>/", catalog_views.product, name="product"),
]
