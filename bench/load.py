"""Load test: Locust shoppers against gunicorn on PostgreSQL while `runapscheduler` sweeps, then a consistency check.

    .venv/bin/python bench/load.py                      # 60 shoppers for 60 s (defaults below)
    .venv/bin/python bench/load.py --users 80 --run-time 90s --workers 3

What it does, all on loopback:
1. creates the PostgreSQL database ``cr_bench_load`` (dropped at the end unless --keep-db), migrates it and loads
   the catalog fixture;
2. starts gunicorn on 127.0.0.1:8157 and ``manage.py runapscheduler`` with a short abandonment threshold
   (CART_ABANDON_AFTER_SECONDS=5, CART_SWEEP_INTERVAL_SECONDS=2), rate limits off (all shoppers share one address);
3. runs Locust headless (bench/locustfile.py, from its own venv var/venv-load, created from requirements-load.txt
   if missing), bounded by --run-time and by a number of tasks per shopper;
4. compares the database with the ledger of what the shoppers saw succeed: each line's quantity equals the
   acknowledged adds minus removes, no cart exists that no acknowledged add created, every checked-out cart was left
   alone by the sweep (not abandoned after its checkout), and `check_integrity` holds (one log per abandoned cart,
   totals equal to the lines, ...);
5. prints requests/s, p50/p95/p99 latency, the error count and the number of inconsistencies; exits 1 if any
   error or inconsistency was found.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from subprocess import STDOUT
from urllib.parse import urlparse

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOAD_VENV = PROJECT_DIR / "var" / "venv-load"
OUT_DIR = PROJECT_DIR / "var" / "bench"
PYTHON = PROJECT_DIR / ".venv" / "bin" / "python"
LOOPBACK = "127.0.0.1"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=60, help="simulated shoppers (default 60)")
    parser.add_argument("--spawn-rate", type=float, default=20, help="shoppers started per second (default 20)")
    parser.add_argument("--run-time", default="60s", help="Locust run time, e.g. 60s, 2m (default 60s)")
    parser.add_argument("--max-tasks", type=int, default=2000, help="tasks per shopper before it stops")
    parser.add_argument(
        "--workers",
        type=int,
        default=(os.cpu_count() or 2) + 1,
        help="gunicorn workers (default cores + 1: measured better than 2 x cores + 1 on CPU-bound requests)",
    )
    parser.add_argument(
        "--worker-class",
        default="gthread",
        help="gunicorn worker class (default gthread, one thread per worker: it keeps connections alive, which "
        "sync workers do not: reconnecting for every request cost Locust ~40 %% more CPU in the mixed run)",
    )
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread only)")
    parser.add_argument("--port", type=int, default=8157, help="gunicorn port on 127.0.0.1 (never 8000)")
    parser.add_argument("--pg", default=f"postgres://postgres@{LOOPBACK}:5432", help="PostgreSQL server URL")
    parser.add_argument("--db", default="cr_bench_load", help="database to create and drop")
    parser.add_argument("--abandon-after", type=int, default=5, help="CART_ABANDON_AFTER_SECONDS")
    parser.add_argument("--sweep-interval", type=int, default=2, help="CART_SWEEP_INTERVAL_SECONDS")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    args = parser.parse_args()
    if args.port == 8000:
        parser.error("port 8000 is the developer's server; pick another")
    if urlparse(args.pg).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--pg must be a loopback PostgreSQL server")
    return args


def ensure_locust() -> Path:
    locust = LOAD_VENV / "bin" / "locust"
    if not locust.exists():
        print("Installing Locust into var/venv-load (requirements-load.txt) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LOAD_VENV)], check=True)
        pip = [str(LOAD_VENV / "bin" / "pip"), "install", "-q", "-r", str(PROJECT_DIR / "requirements-load.txt")]
        subprocess.run(pip, check=True)
    return locust


def admin_sql(server_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def wait_until_up(url: str, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL built here)
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def stop(process: subprocess.Popen, *, name: str) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            print(f"{name} ignored SIGTERM; killing it", flush=True)
            process.kill()
            process.wait()


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process, and of their finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _proc_stat(pid: int | str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree_cpu(root: int) -> float:
    """CPU seconds used so far by a live process and its live descendants (gunicorn's master and workers)."""
    stats = {int(entry.name): _proc_stat(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}
    stats = {pid: stat for pid, stat in stats.items() if stat is not None}
    tree, grew = {root}, True
    while grew:
        children = {pid for pid, (parent, _) in stats.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sum(stats[pid][1] for pid in tree if pid in stats)


def postgres_backends_cpu(server_url: str, database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``database`` (read from /proc: same machine)."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    return sum(stat[1] for stat in map(_proc_stat, pids) if stat is not None)


def _percentile(histogram: dict[int, int], fraction: float) -> int:
    """The smallest response time (ms, as Locust rounds it) below which ``fraction`` of the requests fall."""
    total, seen = sum(histogram.values()), 0
    for millis in sorted(histogram):
        seen += histogram[millis]
        if seen >= fraction * total:
            return millis
    return 0


def read_stats(path: Path) -> dict:
    """Locust's final statistics (--json-file): per route and in total, with percentiles from the histograms."""
    entries = json.loads(path.read_text())
    histogram: dict[int, int] = {}
    per_route = {}
    for entry in entries:
        times = {int(millis): count for millis, count in entry["response_times"].items()}
        for millis, count in times.items():
            histogram[millis] = histogram.get(millis, 0) + count
        per_route[entry["name"]] = (entry["num_requests"], entry["num_failures"], _percentile(times, 0.95))
    started = min(entry["start_time"] for entry in entries)
    ended = max(entry["last_request_timestamp"] or started for entry in entries)
    requests = sum(entry["num_requests"] for entry in entries)
    return {
        "requests": requests,
        "failures": sum(entry["num_failures"] for entry in entries),
        "rps": requests / max(ended - started, 1e-9),
        "p50": _percentile(histogram, 0.50),
        "p95": _percentile(histogram, 0.95),
        "p99": _percentile(histogram, 0.99),
        "per_route": per_route,
    }


def consistency_problems(ledger: dict) -> tuple[list[str], dict]:
    """Compare the database (Django already set up on the bench database) with the shoppers' ledger."""
    from django.db.models import F, Q

    from carts.models import AbandonmentLog, Cart, CartItem
    from core.integrity import check_integrity

    problems: list[str] = [f"client-side: {text}" for text in ledger["unexpected"]]
    carts = ledger["carts"]
    lines_in_db: dict[int, dict[int, int]] = {}
    for cart_id, item_id, quantity in CartItem.objects.filter(cart__user_id__in=ledger["users"]).values_list(
        "cart_id", "item_id", "quantity"
    ):
        lines_in_db.setdefault(cart_id, {})[item_id] = quantity
    db_carts = dict(Cart.objects.filter(user_id__in=ledger["users"]).values_list("id", "status"))
    for cart_id, record in carts.items():
        expected = {int(item): qty for item, qty in record["lines"].items() if qty > 0}
        actual = lines_in_db.get(int(cart_id), {})
        if expected != actual:
            problems.append(f"cart {cart_id}: lines {actual}, acknowledged {expected}")
        if record["checked_out"] and db_carts.get(int(cart_id)) != Cart.Status.CHECKED_OUT:
            problems.append(f"cart {cart_id}: checkout acknowledged, status {db_carts.get(int(cart_id))}")
    unknown = set(db_carts) - {int(cart_id) for cart_id in carts}
    problems += [f"cart {cart_id}: in the database, but no acknowledged add created it" for cart_id in sorted(unknown)]
    # The sweep never touches a checked-out cart: no abandonment, no log dated after the checkout.
    touched = Cart.objects.filter(status=Cart.Status.CHECKED_OUT, abandoned_at__gt=F("checked_out_at"))
    problems += [f"cart {cart_id}: abandoned after its checkout" for cart_id in touched.values_list("id", flat=True)]
    late_logs = AbandonmentLog.objects.filter(
        cart__status=Cart.Status.CHECKED_OUT, abandoned_at__gt=F("cart__checked_out_at")
    )
    problems += [
        f"cart {cart_id}: log written after checkout" for cart_id in late_logs.values_list("cart_id", flat=True)
    ]
    report = check_integrity()
    problems += [f"check_integrity: {name} ({count})" for name, count in report.violations.items()]
    figures = {
        "shoppers": len(ledger["users"]),
        "carts": len(db_carts),
        "checked_out": Cart.objects.filter(status=Cart.Status.CHECKED_OUT).count(),
        "abandoned_now": Cart.objects.filter(status=Cart.Status.ABANDONED).count(),
        "ever_abandoned": Cart.objects.filter(abandoned_at__isnull=False).count(),
        "came_back": Cart.objects.filter(~Q(recovered_at=None)).count(),  # recovered = of those, checked out
        "logs": AbandonmentLog.objects.count(),
    }
    return problems, figures


def main() -> int:
    args = parse_args()
    locust = ensure_locust()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    database_url = f"{args.pg}/{args.db}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": LOOPBACK,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_THROTTLE_REGISTER": "off",  # every simulated shopper comes from 127.0.0.1
        "DJANGO_THROTTLE_TOKEN": "off",
        "DJANGO_LOG_LEVEL": "WARNING",
        "CART_ABANDON_AFTER_SECONDS": str(args.abandon_after),
        "CART_SWEEP_INTERVAL_SECONDS": str(args.sweep_interval),
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    admin_sql(args.pg, f'CREATE DATABASE "{args.db}"')
    processes: list[tuple[str, subprocess.Popen]] = []
    try:
        manage = [str(PYTHON), "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=PROJECT_DIR, env=env, check=True)
        subprocess.run([*manage, "loaddata", "catalog", "-v", "0"], cwd=PROJECT_DIR, env=env, check=True)
        base_url = f"http://{LOOPBACK}:{args.port}"
        gunicorn = [
            str(PROJECT_DIR / ".venv" / "bin" / "gunicorn"),
            "cartrecovery.wsgi",
            "--bind",
            f"{LOOPBACK}:{args.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ]
        logs = {name: open(OUT_DIR / f"{name}.log", "w") for name in ("gunicorn", "runapscheduler")}  # noqa: SIM115
        processes.append(
            ("gunicorn", subprocess.Popen(gunicorn, cwd=PROJECT_DIR, env=env, stdout=logs["gunicorn"], stderr=STDOUT))
        )
        wait_until_up(f"{base_url}/item/all")
        scheduler = subprocess.Popen(
            [*manage, "runapscheduler"], cwd=PROJECT_DIR, env=env, stdout=logs["runapscheduler"], stderr=STDOUT
        )
        processes.append(("runapscheduler", scheduler))

        ledger_path, stats_path = OUT_DIR / "ledger.json", OUT_DIR / "locust-stats.json"
        locust_env = {
            **env,
            "BENCH_LEDGER_PATH": str(ledger_path),
            "BENCH_ABANDON_AFTER_SECONDS": str(args.abandon_after),
            "BENCH_MAX_TASKS_PER_SHOPPER": str(args.max_tasks),
        }
        command = [
            str(locust),
            "-f",
            str(PROJECT_DIR / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            base_url,
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.spawn_rate),
            "--run-time",
            args.run_time,
            "--stop-timeout",
            str(args.abandon_after + 10),  # let a shopper finish its task (and its idle pause) before stopping
            "--json-file",
            str(stats_path.with_suffix("")),  # Locust adds the .json
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        print(
            f"Load: {args.users} shoppers, {args.run_time}, gunicorn -w {args.workers} -k {args.worker_class}"
            f" --threads {args.threads} on {base_url}",
            flush=True,
        )
        # CPU used while the shoppers run (not the servers' start-up), per process group.
        web = processes[0][1]
        before = {
            "locust": children_cpu(),
            "postgres": postgres_backends_cpu(args.pg, args.db),
            "gunicorn": process_tree_cpu(web.pid),
            "runapscheduler": process_tree_cpu(scheduler.pid),
        }
        subprocess.run(command, cwd=PROJECT_DIR, env=locust_env, check=False)
        after = {
            "locust": children_cpu(),
            "postgres": postgres_backends_cpu(args.pg, args.db),
            "gunicorn": process_tree_cpu(web.pid),
            "runapscheduler": process_tree_cpu(scheduler.pid),
        }
        cpu = {name: after[name] - before[name] for name in before}
        # One more sweep interval, so the last idle carts are swept while the scheduler still runs.
        time.sleep(args.sweep_interval + 1)
        for name, process in reversed(processes):
            stop(process, name=name)
        if scheduler.returncode not in (0, -signal.SIGTERM):
            print(f"runapscheduler exited with {scheduler.returncode}", flush=True)

        stats = read_stats(stats_path)
        ledger = json.loads(ledger_path.read_text())
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "cartrecovery.settings"
        sys.path.insert(0, str(PROJECT_DIR))
        import django

        django.setup()
        problems, figures = consistency_problems(ledger)
        from django.db import connections

        connections.close_all()
    finally:
        for name, process in processes:
            stop(process, name=name)
        if not args.keep_db:
            admin_sql(args.pg, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')

    print()
    print(f"requests      {stats['requests']}")
    print(f"requests/s    {stats['rps']:.1f}")
    print(f"latency (ms)  p50 {stats['p50']}  p95 {stats['p95']}  p99 {stats['p99']}")
    print(f"errors        {stats['failures']}")
    for name, (count, failures, p95) in sorted(stats["per_route"].items()):
        print(f"  {name:<14} {count:>7} requests, {failures} errors, p95 {p95} ms")
    per_request = {name: 1000 * cpu[name] / max(stats["requests"], 1) for name in ("gunicorn", "postgres", "locust")}
    print(
        "CPU per request (ms): "
        + ", ".join(f"{name} {millis:.2f}" for name, millis in per_request.items())
        + f"; runapscheduler {cpu['runapscheduler']:.1f} s in all"
    )
    cores = os.cpu_count() or 1
    print(f"  => on {cores} cores this stack tops out near {1000 * cores / sum(per_request.values()):.0f} requests/s")
    print("database      " + ", ".join(f"{key} {value}" for key, value in figures.items()))
    print(f"inconsistencies {len(problems)}")
    for problem in problems[:50]:
        print(f"  {problem}")
    return 1 if stats["failures"] or problems else 0


if __name__ == "__main__":
    sys.exit(main())
