"""API tokens move from DRF's authtoken table, which stored each key in plaintext, to django-rest-knox's, which stores
a SHA-512 digest. Every existing key is carried over as a digest and keeps working, then the plaintext table is
dropped. On a database that never had DRF's tokens there is nothing to carry over."""

from django.db import migrations
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


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_name_is_one_line"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    # Not reversible in substance: the plaintext keys cannot be recomputed from their digests. Going back leaves the
    # tokens in knox's table.
    operations = [migrations.RunPython(carry_over_plaintext_tokens, migrations.RunPython.noop)]
