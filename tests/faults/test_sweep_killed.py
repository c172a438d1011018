"""The sweep killed with SIGKILL in the middle of a large run (the machine losing power, the OOM killer): every batch
it committed is whole (each abandoned cart has its log), the one it was writing vanishes, and the next sweep
finishes the work. The sweep runs as a real `manage.py sweep_abandoned_carts` process on the test database."""

import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from carts.models import AbandonmentLog, Cart, CartItem
from core.integrity import check_integrity
from tests.catalog.factories import ItemFactory
from tests.helpers import PROJECT_DIR, child_process_env
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

STALE_CARTS = 20_000
BATCH_SIZE = 50


def make_stale_carts(count: int) -> None:
    """``count`` shoppers, each with an active one-line cart untouched for a day, built in bulk."""
    item = ItemFactory(price=Decimal("4.50"))
    long_ago = timezone.now() - timedelta(days=1)
    users = User.objects.bulk_create(
        User(email=f"stale{n}@example.com", name=f"Stale {n}", password="!") for n in range(count)
    )
    carts = Cart.objects.bulk_create(
        Cart(user=user, created_at=long_ago, last_updated=long_ago, item_count=2, total=Decimal("9.00"))
        for user in users
    )
    CartItem.objects.bulk_create(CartItem(cart=cart, item=item, quantity=2, unit_price=item.price) for cart in carts)


def abandoned_so_far() -> int:
    return Cart.objects.filter(status=Cart.Status.ABANDONED).count()


def test_a_sweep_killed_mid_run_leaves_no_cart_without_its_log_and_the_next_sweep_finishes():
    make_stale_carts(STALE_CARTS)
    env = child_process_env(DJANGO_DEBUG="1", DJANGO_LOG_LEVEL="WARNING")
    sweep = subprocess.Popen(
        [sys.executable, "manage.py", "sweep_abandoned_carts", "--batch-size", str(BATCH_SIZE)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Kill it once a few batches are committed, far from the end.
        deadline = time.monotonic() + 60
        while abandoned_so_far() < 5 * BATCH_SIZE:
            assert sweep.poll() is None, sweep.communicate()
            assert time.monotonic() < deadline, "the sweep never committed a batch"
            time.sleep(0.005)
        sweep.send_signal(signal.SIGKILL)
        sweep.wait(timeout=30)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
    assert sweep.returncode == -signal.SIGKILL

    abandoned = abandoned_so_far()
    assert 0 < abandoned < STALE_CARTS, "the kill did not land in the middle of the sweep"
    assert abandoned % BATCH_SIZE == 0, "a batch was committed in part"
    assert AbandonmentLog.objects.count() == abandoned
    report = check_integrity()
    assert report.ok, report.violations

    call_command("sweep_abandoned_carts", verbosity=0)
    assert abandoned_so_far() == STALE_CARTS
    assert AbandonmentLog.objects.count() == STALE_CARTS
    assert check_integrity().ok
    assert settings.CART_ABANDON_AFTER_SECONDS < 86_400  # the carts were stale by the default threshold
