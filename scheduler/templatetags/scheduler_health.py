from django import template
from django.utils import timezone

from scheduler.health import SchedulerHealth, scheduler_health

register = template.Library()


@register.simple_tag
def current_scheduler_health() -> SchedulerHealth:
    return scheduler_health(now=timezone.now())
