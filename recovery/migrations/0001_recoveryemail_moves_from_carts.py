"""RecoveryEmail moves from the carts app to this one: only Django's idea of where the model lives changes here.

The table (still ``carts_recoveryemail`` after this migration; 0002 renames it), its rows, constraints and indexes are
untouched. The model's content type is carried over to this app, so the permissions attached to it (``view``,
``change``, ``delete``, ``add`` of recovery emails), the staff and groups holding them, and the admin's history stay.
"""

import django.db.models.deletion
from django.db import migrations, models

MODEL = "recoveryemail"


def _carry_content_type(apps, *, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label=source, model=MODEL).first()
    if old is None:
        return  # a database that never had the model: post_migrate creates the content type and permissions
    new = ContentType.objects.filter(app_label=target, model=MODEL).first()
    if new is None:
        old.app_label = target
        old.save(update_fields=["app_label"])
        return
    # Both exist (the new one was created by an earlier, interrupted upgrade): move every grant to the new
    # permissions, then drop the old content type.
    for permission in Permission.objects.filter(content_type=old):
        kept = Permission.objects.filter(content_type=new, codename=permission.codename).first()
        if kept is None:
            permission.content_type = new
            permission.save(update_fields=["content_type"])
            continue
        for user in permission.user_set.all():
            user.user_permissions.add(kept)
        for group in permission.group_set.all():
            group.permissions.add(kept)
        permission.delete()
    old.delete()


def forwards(apps, schema_editor):
    _carry_content_type(apps, source="carts", target="recovery")


def backwards(apps, schema_editor):
    _carry_content_type(apps, source="recovery", target="carts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("carts", "0006_cart_total_fits_its_column"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RecoveryEmail",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("step", models.PositiveSmallIntegerField(help_text="Position in CART_RECOVERY_EMAIL_STEPS, from 1.")),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                    ("cancelled", "Cancelled"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("planned_at", models.DateTimeField()),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                        ("last_error", models.TextField(blank=True, default="")),
                        (
                            "clicked_at",
                            models.DateTimeField(blank=True, help_text="First time its recovery link was opened.", null=True),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "cart",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="recovery_emails",
                                to="carts.cart",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-planned_at", "-id"],
                        "db_table": "carts_recoveryemail",
                        "indexes": [models.Index(fields=["status", "next_attempt_at"], name="carts_recoveryemail_due")],
                        "constraints": [
                            models.UniqueConstraint(fields=("cart", "step"), name="carts_recoveryemail_once_per_step"),
                            models.CheckConstraint(
                                condition=models.Q(("status__in", ["pending", "sending", "sent", "failed", "cancelled"])),
                                name="carts_recoveryemail_status_valid",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
