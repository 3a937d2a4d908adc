from django.urls import path

from storefront.web import views

app_name = "storefront"

urlpatterns = [
    path("", views.home, name="home"),
]
