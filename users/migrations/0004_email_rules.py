"""Email addresses: one line of visible characters, and stored in one form, the one registration now stores (Unicode
NFKC, the domain in lower case: ``UserManager.normalize_email``).

Existing addresses are brought to that form, so a look-alike stored earlier ("ſam@" for "sam@") and the address it
imitates are recognised as one account from now on. An address whose normalised form already belongs to another
account is left as it was (it is still found under its own address) and named in the output, for staff to decide.
"""

import unicodedata

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

import users.validators


def _normalized(email: str) -> str:
    # As UserManager.normalize_email, written out: a migration must not depend on today's model code.
    email = unicodedata.normalize("NFKC", email).strip()
    name, at, domain = email.rpartition("@")
    return f"{name}@{domain.lower()}" if at else email


def normalize_stored_emails(apps, schema_editor):
    User = apps.get_model("users", "User")
    kept = []
    for user in User.objects.only("pk", "email").order_by("pk").iterator(chunk_size=2000):
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
            f"\n  users: {len(kept)} addresses kept as they were, another account having their normalised form"
            f" (user ids {', '.join(map(str, kept[:50]))}{' …' if len(kept) > 50 else ''})"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0003_api_tokens_hashed_at_rest"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(
                max_length=254, unique=True, validators=[users.validators.SingleLineTextValidator()]
            ),
        ),
        migrations.RunPython(normalize_stored_emails, migrations.RunPython.noop),
    ]
