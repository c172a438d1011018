"""users/migrations/0003: the API tokens DRF stored in plaintext become knox digests, and keep working."""

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from knox.crypto import hash_token
from knox.models import AuthToken

from carts.models import Cart
from tests.catalog.factories import ItemFactory
from tests.helpers import client_with_token
from tests.users.factories import StaffFactory, UserFactory

migration = importlib.import_module("users.migrations.0003_api_tokens_hashed_at_rest")

# The schema editor of SQLite works outside a transaction only.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def drf_token_table():
    """DRF's authtoken table as a database migrated before knox has it (its columns, without its constraints)."""
    datetime_type = connection.data_types["DateTimeField"]
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, created {datetime_type} NOT NULL,'
            " user_id integer NOT NULL UNIQUE)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS authtoken_token")


def _drf_token(key: str, user, created: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO authtoken_token ("key", created, user_id) VALUES (%s, %s, %s)',
            [key, connection.ops.adapt_datetimefield_value(created), user.pk],
        )


def test_drf_plaintext_tokens_become_digests_that_keep_working_and_the_plaintext_table_goes(drf_token_table):
    ada, bob = UserFactory(), UserFactory()
    ada_key, bob_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "0123456789abcdef0123456789abcdef01234567"
    _drf_token(ada_key, ada, datetime(2025, 3, 1, 12, 30, tzinfo=UTC))
    _drf_token(bob_key, bob, datetime(2026, 1, 2, 8, 0, tzinfo=UTC))

    with connection.schema_editor() as editor:
        migration.carry_over_plaintext_tokens(apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    tokens = {token.user_id: token for token in AuthToken.objects.all()}
    assert set(tokens) == {ada.pk, bob.pk}
    assert tokens[ada.pk].digest == hash_token(ada_key)
    assert tokens[ada.pk].created == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)  # its own date, not the migration's
    assert tokens[bob.pk].created == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    assert tokens[ada.pk].expiry is None
    # The storefront's stored keys go on working, each for its own shopper.
    item = ItemFactory()
    for key, owner in ((ada_key, ada), (bob_key, bob)):
        response = client_with_token(key).post("/cart/add", {"item_id": item.pk}, format="json")
        assert response.status_code == 200
        assert Cart.objects.get(pk=response.json()["cart_id"]).user == owner


def test_a_database_without_drf_tokens_is_left_as_it_is(db):
    UserFactory()

    with connection.schema_editor() as editor:
        migration.carry_over_plaintext_tokens(apps, editor)

    assert not AuthToken.objects.exists()


def test_django_forgets_the_authtoken_app_so_older_code_would_create_its_table_again(db):
    # What a database that had DRF's tokens holds about the app besides its table.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    token_type = ContentType.objects.create(app_label="authtoken", model="token")
    permission = Permission.objects.create(content_type=token_type, codename="delete_token", name="Can delete Token")
    staff = StaffFactory()
    staff.user_permissions.add(permission)
    recorder = MigrationRecorder(connection)
    recorder.record_applied("authtoken", "0001_initial")
    recorder.record_applied("knox", "0001_initial")
    kept = ContentType.objects.get_for_model(AuthToken)

    with connection.schema_editor() as editor:
        migration.forget_the_authtoken_app(apps, editor)

    assert not recorder.migration_qs.filter(app="authtoken").exists()
    assert not ContentType.objects.filter(app_label="authtoken").exists()
    assert not staff.user_permissions.exists()
    assert ContentType.objects.filter(pk=kept.pk).exists()  # only authtoken's
    assert recorder.migration_qs.filter(app="knox", name="0001_initial").exists()
    recorder.record_unapplied("knox", "0001_initial")  # django_migrations is not emptied between tests
