from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo a newcomer sees after `make run`: fixtures moved to today and a staff login. No models."""

    name = "demo"
    verbose_name = "Demo"
