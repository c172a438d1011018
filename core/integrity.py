"""The invariants the product promises, checked against the database as it is (reads only, never writes).

Each app lists its own rules in an ``integrity`` module (``RULES``: carts/integrity.py, recovery/integrity.py, …);
:func:`check_integrity` runs every installed app's, the way the admin finds each app's ``admin`` module. Used by
``manage.py check_integrity``, the load test and the fault tests. Every rule is one query over the whole table (no
per-row loop), so a check of a few hundred thousand carts stays a handful of queries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.db.models import QuerySet
from django.utils.module_loading import module_has_submodule


@dataclass(frozen=True)
class Rule:
    """One invariant: a name, what it promises, and the query that finds the rows breaking it."""

    name: str
    promise: str
    offenders: Callable[[], QuerySet | list[dict]]  # a queryset of offending rows, or a list of them as dicts


@dataclass(frozen=True)
class RuleResult:
    name: str
    promise: str
    count: int
    examples: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass(frozen=True)
class IntegrityReport:
    results: list[RuleResult]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)

    @property
    def violations(self) -> dict[str, int]:
        """Rule name → number of offending rows, for the rules that are broken."""
        return {result.name: result.count for result in self.results if not result.ok}

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "rules": [
                {"name": r.name, "promise": r.promise, "count": r.count, "examples": r.examples} for r in self.results
            ],
        }


def all_rules() -> list[Rule]:
    """Every installed app's ``integrity.RULES``, in the order of INSTALLED_APPS."""
    rules: list[Rule] = []
    for app in apps.get_app_configs():
        if module_has_submodule(app.module, "integrity"):
            rules.extend(getattr(importlib.import_module(f"{app.name}.integrity"), "RULES", []))
    return rules


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def check_integrity(*, examples: int = 10) -> IntegrityReport:
    """Run every rule; for each, count the offending rows and keep up to ``examples`` of them."""
    results = []
    for rule in all_rules():
        offenders = rule.offenders()
        count = len(offenders) if isinstance(offenders, list) else offenders.count()
        sample = [{key: _plain(value) for key, value in row.items()} for row in offenders[:examples]] if count else []
        results.append(RuleResult(name=rule.name, promise=rule.promise, count=count, examples=sample))
    return IntegrityReport(results=results)
