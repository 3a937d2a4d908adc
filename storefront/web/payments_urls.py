from django.urls import path

from storefront.web import payments_views

urlpatterns = [
    path("orders/<str:number>/pay/", payments_views.pay, name="order-pay"),
]
