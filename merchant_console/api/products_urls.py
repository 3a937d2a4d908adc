"""The catalogue part of the staff API, under /api/v1/console/."""

from django.urls import path

from merchant_console.api import exports
from merchant_console.api import products as views

urlpatterns = [
    path("categories/", views.CategoryListCreateApi.as_view(), name="console-api-categories"),
    path("categories/<int:category_id>/", views.CategoryDetailApi.as_view(),
         name="console-api-category"),
    path("products/", views.ProductListCreateApi.as_view(), name="console-api-products"),
    path("products/<int:product_id>/", views.ProductDetailApi.as_view(),
         name="console-api-product"),
    path("products/<int:product_id>/images/", views.ProductImageUploadApi.as_view(),
         name="console-api-product-images"),
    path("products/<int:product_id>/images/<int:image_id>/", views.ProductImageDeleteApi.as_view(),
         name="console-api-product-image"),
    path("products/<int:product_id>/skus/<int:sku_id>/", views.SkuUpdateApi.as_view(),
         name="console-api-product-sku"),
    path("products/<int:product_id>/shelf/", views.ProductShelfApi.as_view(),
         name="console-api-product-shelf"),
    path("products/shelf/", views.ProductBulkShelfApi.as_view(),
         name="console-api-products-shelf"),
    path("products/<int:product_id>/images/order/", views.ProductImageOrderApi.as_view(),
         name="console-api-product-images-order"),
    path("goods/imports/", views.GoodsImportApi.as_view(), name="console-api-goods-imports"),
    path("goods/imports/<int:job_id>/", views.GoodsImportStatusApi.as_view(),
         name="console-api-goods-import"),
    path("goods/exports/", exports.GoodsExportStartApi.as_view(),
         name="console-api-goods-exports"),
    path("goods/exports/<int:job_id>/", exports.GoodsExportStatusApi.as_view(),
         name="console-api-goods-export"),
    path("banners/", views.BannerListCreateApi.as_view(), name="console-api-banners"),
    path("banners/<int:banner_id>/", views.BannerDetailApi.as_view(), name="console-api-banner"),
]
