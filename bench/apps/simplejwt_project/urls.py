"""One route: simplejwt's verify view, at the path its documentation uses."""

from django.urls import path
from rest_framework_simplejwt.views import TokenVerifyView

urlpatterns = [path("api/token/verify/", TokenVerifyView.as_view(), name="token_verify")]
