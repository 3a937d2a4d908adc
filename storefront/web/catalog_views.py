"""Catalogue pages for shoppers: category tree, listings, search and the product page.

Views only parse the query string, call the catalogue selectors and render; each page runs
a fixed number of queries, and only when the page is not in the cache (page_cache.py: each
view declares the query parameters it reads). A listing fetches one row more than it shows
to know whether a next page exists, so it needs no COUNT query. The mall's 满减 rules are
fetched once per page (only when it shows goods) for the promotion tags on the tiles and the
product page.
"""

from __future__ import annotations

from django.shortcuts import render

from storefront.catalog import selectors
from storefront.catalog.errors import CategoryNotFound, ProductNotFound
from storefront.orders.selectors import discount_rules_active
from storefront.web.page_cache import shopper_cache

PAGE_SIZE = 20
MAX_PAGE = 500


def _page_number(request) -> int:
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def _sort(request) -> str:
    sort = request.GET.get("sort", "default")
    return sort if sort in selectors.SORTS else "default"


def _paged(products, page: int) -> tuple[list, bool]:
    start = (page - 1) * PAGE_SIZE
    rows = list(products[start:start + PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def _not_found(request, *, what: str):
    return render(
        request, "storefront/catalog/not_found.html", {"what": what, "tab": "categories"},
        status=404,
    )


@shopper_cache()
def categories(request):
    return render(
        request, "storefront/catalog/categories.html",
        {"tab": "categories", "tree": selectors.category_tree()},
    )


@shopper_cache(params=("sort", "page"))
def category(request, category_id: int):
    try:
        node = selectors.category_detail(category_id=category_id)
    except CategoryNotFound:
        return _not_found(request, what="category")
    sort, page = _sort(request), _page_number(request)
    products, has_next = _paged(
        selectors.product_list(category_id=category_id, sort=sort), page
    )
    return render(
        request, "storefront/catalog/category.html",
        {"tab": "categories", "node": node, "products": products, "sort": sort,
         "page": page, "has_next": has_next,
         "promotions": discount_rules_active() if products else []},
    )


@shopper_cache(params=("q", "sort", "page"))
def search(request):
    query = request.GET.get("q", "").strip()[: selectors.MAX_SEARCH_LENGTH]
    sort, page = _sort(request), _page_number(request)
    products, has_next = [], False
    if selectors.search_terms(query):
        products, has_next = _paged(selectors.product_list(q=query, sort=sort), page)
    return render(
        request, "storefront/catalog/search.html",
        {"tab": "home", "search_query": query, "products": products, "sort": sort,
         "page": page, "has_next": has_next,
         "promotions": discount_rules_active() if products else []},
    )


@shopper_cache(marks=("product_views",))
def product(request, product_id: int):
    try:
        detail = selectors.product_detail(product_id=product_id)
    except ProductNotFound:
        return _not_found(request, what="product")
    single = detail.single_sku
    return render(
        request, "storefront/catalog/product_detail.html",
        {"tab": "home", "detail": detail, "product": detail.product, "single_sku": single,
         "can_buy": single is not None and single.stock > 0,
         "promotions": discount_rules_active()},
    )
