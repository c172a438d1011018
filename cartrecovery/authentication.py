"""API token authentication with one lean query per request."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``TokenAuthentication`` (same header, same errors, same Token table), reading the token's user with one
    fixed SQL statement instead of ``Token.objects.select_related("user").get(key=...)``.

    The ORM compiles that join anew on every request: 0.49 ms of CPU, the largest single cost of a cart request;
    the fixed statement costs 0.18 ms (both timed in-process on PostgreSQL). Nothing is cached: the token and the
    user are read from the database on every request, so a deleted token or a deactivated user is refused at once.
    """

    def authenticate_credentials(self, key: str):
        # A DRF key is 40 characters; anything else cannot match, and a NUL byte would be a database error.
        if len(key) > Token._meta.get_field("key").max_length or "\x00" in key:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        users = list(get_user_model().objects.raw(_user_by_token_sql(), [key]))
        if not users:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = users[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)


@cache  # one database vendor per process: the statement never changes
def _user_by_token_sql() -> str:
    user_model = get_user_model()
    quote = connection.ops.quote_name
    user_table, token_table = quote(user_model._meta.db_table), quote(Token._meta.db_table)
    user_pk = quote(user_model._meta.pk.column)
    token_user, token_key = quote(Token._meta.get_field("user").column), quote(Token._meta.get_field("key").column)
    # Only quoted table and column names from the models go into the text; the key is always a parameter.
    return (
        f"SELECT {user_table}.* FROM {user_table} INNER JOIN {token_table}"  # noqa: S608
        f" ON {token_table}.{token_user} = {user_table}.{user_pk} WHERE {token_table}.{token_key} = %s"
    )
