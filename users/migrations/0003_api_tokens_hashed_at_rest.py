"""API tokens move from DRF's authtoken table, which stored each key in plaintext, to django-rest-knox's, which stores
a SHA-512 digest. Every existing key is carried over as a digest and keeps working, then the plaintext table is
dropped, and with it what Django recorded of the authtoken app (its applied migrations, content types and
permissions). On a database that never had DRF's tokens there is nothing to do.

Going back: the keys cannot be recomputed from their digests, so reversing this migration leaves the tokens in knox's
table. Because authtoken's migration records are gone, the older code's ``migrate`` creates DRF's table again (empty:
every client then needs a new token) instead of answering each token request with a 500 for a missing table.
"""

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from knox.crypto import hash_token
from knox.settings import CONSTANTS

LEGACY_TABLE = "authtoken_token"
BATCH = 1000


def carry_over_plaintext_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    quote = schema_editor.quote_name
    legacy, knox, key_column = quote(LEGACY_TABLE), quote(AuthToken._meta.db_table), quote("key")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key_column}, user_id FROM {legacy}")  # noqa: S608 (constant table names)
        while rows := cursor.fetchmany(BATCH):
            AuthToken.objects.bulk_create(
                AuthToken(digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id)
                for key, user_id in rows
            )
    # `created` is auto_now_add, so bulk_create stamped the tokens with now: give each its own date back. DRF keeps one
    # token per user, so the user and the key's first characters find it.
    prefix = f"substr({legacy}.{key_column}, 1, {CONSTANTS.TOKEN_KEY_LENGTH})"
    legacy_row = f"{legacy}.user_id = {knox}.user_id AND {prefix} = {knox}.token_key"
    schema_editor.execute(
        f"UPDATE {knox} SET created = (SELECT {legacy}.created FROM {legacy} WHERE {legacy_row})"  # noqa: S608
        f" WHERE EXISTS (SELECT 1 FROM {legacy} WHERE {legacy_row})"
    )
    schema_editor.execute(f"DROP TABLE {legacy}")


def forget_the_authtoken_app(apps, schema_editor):
    MigrationRecorder(schema_editor.connection).migration_qs.filter(app="authtoken").delete()
    # Its permissions go with the content types (and from groups and users holding them); admin log entries about
    # tokens keep their text and lose the link.
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_name_is_one_line"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [
        migrations.RunPython(carry_over_plaintext_tokens, migrations.RunPython.noop),
        migrations.RunPython(forget_the_authtoken_app, migrations.RunPython.noop),
    ]
