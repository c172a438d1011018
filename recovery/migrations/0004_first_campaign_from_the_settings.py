"""The first campaign: what the product sent before campaigns existed.

Its steps are CART_RECOVERY_EMAIL_STEPS (read once, here) with the old templates' subjects and wording
(recovery/defaults.py), and it is active, so an upgraded shop goes on sending the same reminders at the same delays.
Reminders already planned or sent are linked to the step of their position; a sent one's ``attempts`` now counts
the try that went out too. The notes that used to be kept in
``last_error`` (skipped, cancelled, interrupted) move to ``note``: ``last_error`` now holds errors only. Sent
reminders get their recipient and subject as they were sent.
"""

from django.conf import settings
from django.db import migrations
from django.db.models import F, OuterRef, Subquery

from recovery.defaults import FIRST_SUBJECT, LATER_SUBJECT, default_steps

NOTE_PREFIXES = ("Skipped:", "Cancelled:", "Interrupted while sending")
MAX_DELAY = 90 * 86_400


def forwards(apps, schema_editor):
    Campaign = apps.get_model("recovery", "Campaign")
    CampaignStep = apps.get_model("recovery", "CampaignStep")
    RecoveryEmail = apps.get_model("recovery", "RecoveryEmail")
    delays = [delay for delay in settings.CART_RECOVERY_EMAIL_STEPS if 1 <= delay <= MAX_DELAY]
    campaign = Campaign.objects.create(name="Cart reminders", is_active=True)
    for values in default_steps(delays):
        CampaignStep.objects.create(campaign=campaign, **values)
    steps = CampaignStep.objects.filter(campaign=campaign, position=OuterRef("step"))
    RecoveryEmail.objects.update(campaign_step=Subquery(steps.values("pk")[:1]))
    for prefix in NOTE_PREFIXES:
        moved = RecoveryEmail.objects.filter(last_error__startswith=prefix)
        for email in moved.only("pk", "last_error").iterator():
            RecoveryEmail.objects.filter(pk=email.pk).update(note=email.last_error[:300], last_error="")
    users = apps.get_model("carts", "Cart").objects.filter(pk=OuterRef("cart_id")).values("user__email")[:1]
    RecoveryEmail.objects.filter(status="sent", recipient="").update(recipient=Subquery(users))
    sent = RecoveryEmail.objects.filter(status="sent", subject="")
    sent.filter(step=1).update(subject=FIRST_SUBJECT)
    sent.exclude(step=1).update(subject=LATER_SUBJECT)
    # ``attempts`` counted the failed tries only; it now counts every try, the one that went out included.
    RecoveryEmail.objects.filter(status="sent").update(attempts=F("attempts") + 1)


def backwards(apps, schema_editor):
    RecoveryEmail = apps.get_model("recovery", "RecoveryEmail")
    RecoveryEmail.objects.exclude(note="").filter(last_error="").update(last_error=F("note"))
    RecoveryEmail.objects.filter(status="sent", attempts__gt=0).update(attempts=F("attempts") - 1)
    RecoveryEmail.objects.update(campaign_step=None)
    apps.get_model("recovery", "Campaign").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0003_campaigns_and_the_shop"),
        ("carts", "0007_recoveryemail_moves_to_recovery"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
