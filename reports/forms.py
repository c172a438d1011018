"""The report page's filters as a Django form: the period (two dates) and the current status."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError

from carts.models import Cart
from core.fields import PERIOD_BOUND_HELP, parse_period_bound

from .selectors import ReportFilters, default_period


class PeriodBoundFormField(forms.CharField):
    """A date (or an ISO 8601 date-time) as the page's date pickers send it; empty means "no bound"."""

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def to_python(self, value) -> datetime | None:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_period_bound(text, end_of_day=self.end_of_day)
        except ValueError:
            raise ValidationError(PERIOD_BOUND_HELP, code="invalid") from None


class ReportFilterForm(forms.Form):
    since = PeriodBoundFormField(label="Abandoned since")
    until = PeriodBoundFormField(label="until (included)", end_of_day=True)
    status = forms.ChoiceField(
        label="Current status", required=False, choices=[("", "Any status"), *Cart.Status.choices]
    )
    search = forms.CharField(
        label="Email or cart #",
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "ada@example.com or 2043"}),
    )

    @classmethod
    def for_page(cls, params, *, now: datetime) -> ReportFilterForm:
        """The page's filters: the default period (the last 30 days) for a date absent from the query string; a date
        present but empty (a cleared date picker) means "no bound"."""
        default_since, default_until = default_period(now=now)
        return cls(
            data={
                "since": params.get("since", default_since.isoformat()),
                "until": params.get("until", default_until.isoformat()),
                "status": params.get("status", ""),
                "search": params.get("search", ""),
            }
        )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since is not None and until is not None and since >= until:
            self.add_error("until", "Must be after since.")
        return cleaned

    def filters(self) -> ReportFilters:
        """The valid form's filters (call ``is_valid()`` first)."""
        data = self.cleaned_data
        return ReportFilters(
            since=data["since"], until=data["until"], status=data["status"] or None, search=data["search"].strip()
        )
