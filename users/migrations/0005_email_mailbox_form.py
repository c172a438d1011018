"""Email addresses in the form the mail system delivers to (users/emails.py): a needlessly quoted part before the @
unquoted (``"admin"@shop.test`` is ``admin@shop.test``), the domain in ASCII (``bücher.example`` is
``xn--bcher-kva.example``), after 0004's NFKC and lower-case domain.

Existing rows are brought to that form, so a mailbox registered twice under two spellings is recognised as one from
now on. As in 0004, an address whose new form already belongs to another account is left as it was (it is still
found under its own address) and named in the output, for staff to decide which account the mailbox keeps.
Addresses with an IP-literal domain (``a@[127.0.0.1]``), no longer accepted for new accounts, are listed too.
"""

import re
import unicodedata

import idna
from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

# As users/emails.py, written out: a migration must not depend on today's code.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*\Z")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _local_part(local: str) -> str:
    if len(local) < 2 or local[0] != '"' or local[-1] != '"':
        return local
    content = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    if _DOT_ATOM.match(content):
        return content
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _domain(domain: str) -> str:
    domain = domain.lower()
    if domain.isascii() and "xn--" not in domain:
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return domain


def _normalized(email: str) -> str:
    email = unicodedata.normalize("NFKC", email).strip()
    local, at, domain = email.rpartition("@")
    return f"{_local_part(local)}@{_domain(domain)}" if at else email


def _ids(pks: list[int]) -> str:
    return f"{', '.join(map(str, pks[:50]))}{' …' if len(pks) > 50 else ''}"


def normalize_stored_emails(apps, schema_editor):
    User = apps.get_model("users", "User")
    kept, literals = [], []
    for user in User.objects.only("pk", "email").order_by("pk").iterator(chunk_size=2000):
        if user.email.rpartition("@")[2].startswith("["):
            literals.append(user.pk)
        normalized = _normalized(user.email)
        if normalized == user.email:
            continue
        taken = User.objects.filter(Exact(Lower("email"), Lower(Value(normalized)))).exclude(pk=user.pk).exists()
        if taken:
            kept.append(user.pk)
            continue
        # One by one (few rows change): the next row's check then sees this one, should two normalise alike.
        User.objects.filter(pk=user.pk).update(email=normalized)
    if kept:
        print(
            f"\n  users: {len(kept)} addresses kept as they were, another account having their mailbox form"
            f" (user ids {_ids(kept)})"
        )
    if literals:
        print(f"\n  users: {len(literals)} addresses with an IP address for a domain (user ids {_ids(literals)})")


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0004_email_rules"),
    ]

    operations = [
        migrations.RunPython(normalize_stored_emails, migrations.RunPython.noop),
    ]
