"""The landing page at /: where to go from here (the admin, the report, the API docs)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def landing_page(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html", {"title": "Cart Recovery"})
