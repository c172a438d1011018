"""Simulated shoppers for bench/load.py (run by Locust, in its own venv: see requirements-load.txt).

Each shopper registers, then adds, removes, views and checks out through the seed routes with its own token. Some
go idle for longer than the abandonment threshold and come back (the sweep abandons their cart, their next request
recovers it); some leave for good. Every acknowledged (200) change is written to a ledger, per cart, which
bench/load.py compares with the database at the end. Only loopback hosts are accepted.
"""

import json
import logging
import os
import random
import threading
import uuid
from collections import Counter
from urllib.parse import urlparse

import gevent
from locust import FastHttpUser, between, events, task

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
ABANDON_AFTER = float(os.environ.get("BENCH_ABANDON_AFTER_SECONDS", "5"))
LEDGER_PATH = os.environ.get("BENCH_LEDGER_PATH", "var/bench/ledger.json")
MAX_TASKS_PER_SHOPPER = int(os.environ.get("BENCH_MAX_TASKS_PER_SHOPPER", "2000"))
IDLE_SHARE = float(os.environ.get("BENCH_IDLE_SHARE", "0.2"))  # shoppers who pause past the threshold once
LEAVE_SHARE = float(os.environ.get("BENCH_LEAVE_SHARE", "0.1"))  # shoppers who walk away with a full cart

# cart id → {"user": id, "lines": {item id: quantity}, "checked_out": bool}; plus the shoppers' ids.
LEDGER: dict = {"carts": {}, "users": [], "unexpected": []}
_lock = threading.Lock()  # greenlets do not need it, but it keeps the ledger honest under any runner


@events.test_start.add_listener
def _refuse_remote_hosts(environment, **kwargs):
    host = urlparse(environment.host or "").hostname
    if host not in LOOPBACK_HOSTS:
        logging.error("bench/locustfile.py only runs against loopback, not %r: stopping", host)
        environment.process_exit_code = 2
        environment.runner.quit()


@events.test_stop.add_listener
def _write_ledger(environment, **kwargs):
    os.makedirs(os.path.dirname(LEDGER_PATH) or ".", exist_ok=True)
    with _lock, open(LEDGER_PATH, "w") as out:
        json.dump(LEDGER, out)


class Shopper(FastHttpUser):
    wait_time = between(0.05, 0.25)

    def on_start(self):
        self.items: list[int] = []
        self.cart_id: int | None = None
        self.lines: Counter = Counter()
        self.tasks_done = 0
        self.idles_left = 1 if random.random() < IDLE_SHARE else 0
        self.leaves = random.random() < LEAVE_SHARE
        self.gone = False
        email = f"load-{uuid.uuid4().hex}@example.com"
        with self.client.post(
            "/user/register", json={"name": "Load Shopper", "email": email}, name="register", catch_response=True
        ) as response:
            if response.status_code != 201:
                response.failure(f"register: {response.status_code} {response.text[:200]}")
                self.gone = True
                return
            body = response.json()
        self.user_id = body["id"]
        self.auth = {"Authorization": f"Token {body['token']}"}
        with _lock:
            LEDGER["users"].append(self.user_id)
        catalog = self.client.get("/item/all", name="item/all").json()
        self.items = [item["id"] for item in catalog]

    def _record(self, cart_id: int) -> dict:
        with _lock:
            return LEDGER["carts"].setdefault(str(cart_id), {"user": self.user_id, "lines": {}, "checked_out": False})

    def _done_with_a_task(self) -> bool:
        if self.gone:
            gevent.sleep(1)
            return True
        self.tasks_done += 1
        if self.tasks_done > MAX_TASKS_PER_SHOPPER:
            self.gone = True
        return self.gone

    @task(6)
    def add(self):
        if self._done_with_a_task():
            return
        item_id, quantity = random.choice(self.items), random.randint(1, 3)
        with self.client.post(
            "/cart/add",
            json={"item_id": item_id, "quantity": quantity},
            name="cart/add",
            headers=self.auth,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"add: {response.status_code} {response.text[:200]}")
                return
            body = response.json()
        if body["cart_id"] != self.cart_id:  # the first add, or the first after a checkout: a new cart
            self.cart_id, self.lines = body["cart_id"], Counter()
        self.lines[item_id] += quantity
        record = self._record(self.cart_id)
        record["lines"][str(item_id)] = self.lines[item_id]
        if body["quantity"] != self.lines[item_id]:
            LEDGER["unexpected"].append(f"add: line says {body['quantity']}, client counted {self.lines[item_id]}")

    @task(2)
    def remove(self):
        if self._done_with_a_task() or not +self.lines:
            return
        item_id = random.choice(list((+self.lines).keys()))
        with self.client.post(
            "/cart/remove",
            json={"cart_id": self.cart_id, "item_id": item_id, "quantity": 1},
            name="cart/remove",
            headers=self.auth,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"remove: {response.status_code} {response.text[:200]}")
                return
        self.lines[item_id] -= 1
        self._record(self.cart_id)["lines"][str(item_id)] = self.lines[item_id]

    @task(3)
    def view(self):
        if self._done_with_a_task():
            return
        expected = 200 if self.cart_id is not None else 404  # no open cart (none yet, or just checked out): 404
        with self.client.get("/cart/view", name="cart/view", headers=self.auth, catch_response=True) as response:
            if response.status_code != expected:
                response.failure(f"view: {response.status_code}, expected {expected}: {response.text[:200]}")
            elif expected == 200 and response.json()["cart_id"] != self.cart_id:
                response.failure("view: another cart than the one being filled")
            else:
                response.success()

    @task(1)
    def checkout(self):
        if self._done_with_a_task() or not +self.lines:
            return
        with self.client.post(
            "/cart/checkout",
            json={"cart_id": self.cart_id},
            name="cart/checkout",
            headers=self.auth,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"checkout: {response.status_code} {response.text[:200]}")
                return
        self._record(self.cart_id)["checked_out"] = True
        self.cart_id, self.lines = None, Counter()

    @task(1)
    def pause(self):
        """Go idle past the abandonment threshold (once, for some), or leave for good (for a few)."""
        if self.gone or not +self.lines:
            return
        if self.idles_left:
            self.idles_left -= 1
            gevent.sleep(ABANDON_AFTER + 2.5)
        elif self.leaves:
            self.gone = True
