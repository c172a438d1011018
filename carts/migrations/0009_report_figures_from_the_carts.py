"""The report's figures (CartFigures, carts/figures.py) for the carts already in the database when this version is
installed: from now on the services keep them, this fills them once. Self-contained (historical models), one pass
over the carts. Carts checked out before coupons existed get ``paid`` = their total."""

from collections import defaultdict
from decimal import Decimal

from django.db import migrations
from django.db.models import F

BUCKET_SECONDS = 900
COUNTERS = (
    "abandoned",
    "still_abandoned",
    "revenue_left",
    "came_back",
    "recovered",
    "recovered_revenue",
    "recovered_discount",
    "via_email",
    "via_email_revenue",
    "bought_unabandoned",
)


def forwards(apps, schema_editor):
    Cart = apps.get_model("carts", "Cart")
    CartFigures = apps.get_model("carts", "CartFigures")
    # Carts checked out before coupons existed paid their total.
    Cart.objects.filter(status="checked_out", paid__isnull=True).update(paid=F("total"))
    rows = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    carts = Cart.objects.values_list(
        "abandoned_at", "checked_out_at", "status", "recovery_group", "recovery_source", "total", "paid", "discount"
    )
    for abandoned_at, checked_out_at, status, group, source, total, paid, discount in carts.iterator(chunk_size=5000):
        if abandoned_at is not None:
            row = rows[(int(abandoned_at.timestamp()) // BUCKET_SECONDS, group)]
            row["abandoned"] += 1
            if status == "abandoned":
                row["still_abandoned"] += 1
                row["revenue_left"] += total
            elif status == "active":
                row["came_back"] += 1
            else:
                paid = total if paid is None else paid
                row["recovered"] += 1
                row["recovered_revenue"] += paid
                row["recovered_discount"] += discount or Decimal("0")
                if source == "email_link":
                    row["via_email"] += 1
                    row["via_email_revenue"] += paid
        elif status == "checked_out" and checked_out_at is not None:
            rows[(int(checked_out_at.timestamp()) // BUCKET_SECONDS, "")]["bought_unabandoned"] += 1
    CartFigures.objects.filter(kind="live").delete()
    CartFigures.objects.bulk_create(
        (
            CartFigures(bucket=bucket, recovery_group=group, kind="live", **counters)
            for (bucket, group), counters in rows.items()
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [("carts", "0008_coupons_discounts_groups_and_report_figures")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
