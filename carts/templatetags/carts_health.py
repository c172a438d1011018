from django import template
from django.utils import timezone

from carts.health import SchedulerHealth, scheduler_health

register = template.Library()


@register.simple_tag
def current_scheduler_health() -> SchedulerHealth:
    return scheduler_health(now=timezone.now())
