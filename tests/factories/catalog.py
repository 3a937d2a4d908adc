"""Catalogue rows made directly (the catalog services have their own tests)."""

import factory

from storefront.catalog.models import Category, Product, Sku


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"分类{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"商品 {n}")
    is_on_shelf = True
    min_price_fen = 9900
    max_price_fen = 9900
    search_text = factory.LazyAttribute(lambda o: o.title.lower())


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    spec_key = factory.Sequence(lambda n: str(n))
    spec_label = ""
    price_fen = 9900
    market_price_fen = 12900
    stock = 100
