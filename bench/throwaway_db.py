"""What every benchmark shares: a throwaway database (SQLite file or PostgreSQL database) and the peak RSS."""

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))


def _drop_sqlite_files(url: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path(url)}{suffix}").unlink(missing_ok=True)


def _admin_execute(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement)


def create_database(url: str) -> None:
    """An empty database at ``url``, replacing any left from an earlier run."""
    if url.startswith("sqlite"):
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        _drop_sqlite_files(url)
        return
    name = url.rsplit("/", 1)[1]
    _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    from django.db import connections

    connections.close_all()
    if url.startswith("sqlite"):
        _drop_sqlite_files(url)
        return
    name = url.rsplit("/", 1)[1]
    _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}"')
