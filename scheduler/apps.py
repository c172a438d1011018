from django.apps import AppConfig


class SchedulerConfig(AppConfig):
    """The scheduler's operations: the job list, runapscheduler, its health (/healthz, check_scheduler). No models."""

    name = "scheduler"
    verbose_name = "Scheduler"
