"""The pages a reminder's links open (anonymous: the signed token in the address is the credential)."""

from django.urls import path

from . import views

app_name = "recovery"

urlpatterns = [
    path("cart/recover/<str:token>", views.recover, name="recover"),
    path("cart/unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
]
