"""Every environment variable the settings read is documented, in README.md's settings table and in
docs/contract.md: an operator never has to read settings.py to find one."""

import re

import pytest

from tests.helpers import PROJECT_DIR

READ_FROM_ENVIRONMENT = re.compile(r'(?:env_\w+\(|env=)"([A-Z][A-Z0-9_]+)"')


def _variables_read_by_the_settings() -> set[str]:
    return set(READ_FROM_ENVIRONMENT.findall((PROJECT_DIR / "cartrecovery" / "settings.py").read_text()))


def test_the_settings_read_variables_at_all():
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "CART_ABANDON_AFTER_SECONDS"} <= _variables_read_by_the_settings()


@pytest.mark.parametrize("document", ["README.md", "docs/contract.md"])
def test_every_variable_the_settings_read_is_documented(document):
    text = (PROJECT_DIR / document).read_text()

    undocumented = {name for name in _variables_read_by_the_settings() if f"`{name}`" not in text}

    assert undocumented == set()
