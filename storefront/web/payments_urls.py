from django.urls import path

from storefront.web import payments_views

urlpatterns = [
    path("orders/<str:number>/pay/", payments_views.pay, name="order-pay"),
    path("orders/<str:number>/pay/state/", payments_views.payment_state,
         name="order-payment-state"),
]
