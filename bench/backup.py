"""Benchmark: `flask backup` and `flask restore` of the large demo, timed and checked.

    .venv/bin/python bench/backup.py [--postgres]

Seeds the large demo (`flask seed-demo --scale large`: every table of a programme's history and 500 uploaded PDFs of
100 KB) into a throwaway instance (SQLite, or a throwaway PostgreSQL with --postgres), takes the row
count of every table and the SHA-256 of every uploaded file, runs `flask backup`, then damages the
instance (deletes rows from the biggest tables, deletes and alters files), runs `flask restore --yes`
and compares. Targets: backup and restore each under 60 s; identical row counts and file checksums.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import time
from pathlib import Path

from common import Figure, print_table
from postgres import throwaway_postgres
from server import LargeSite

LIMIT_SECONDS = 60


def row_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        counts = {table: connection.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar() for table in tables}
    engine.dispose()
    return counts


def checksums(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def damage(url: str, uploads: Path) -> None:
    """What restoring must undo: rows gone from the biggest tables, files deleted, a file changed."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM attendances WHERE id % 2 = 0"))
        connection.execute(text("DELETE FROM outbox_messages"))
        connection.execute(text("UPDATE users SET name = 'Changed' WHERE id % 3 = 0"))
    engine.dispose()
    files = sorted(path for path in uploads.rglob("*") if path.is_file())
    for path in files[::10]:
        path.unlink()
    files[1].write_bytes(b"not the original")
    (uploads / "stray.pdf").write_bytes(b"a file the backup never had")


def run(database_url: str | None, label: str) -> list[Figure]:
    with LargeSite(database_url=database_url) as site:
        uploads = site.folder / "uploads"
        archive = site.folder / "backup.tar.gz"
        before_rows, before_files = row_counts(site.database_url), checksums(uploads)
        started = time.perf_counter()
        site.flask("backup", str(archive))
        backup_seconds = time.perf_counter() - started
        damage(site.database_url, uploads)
        assert row_counts(site.database_url) != before_rows and checksums(uploads) != before_files
        started = time.perf_counter()
        site.flask("restore", str(archive), "--yes")
        restore_seconds = time.perf_counter() - started
        after_rows, after_files = row_counts(site.database_url), checksums(uploads)
        size_mb = archive.stat().st_size / 1_000_000
    rows = sum(before_rows.values())
    different_tables = sorted(t for t in before_rows.keys() | after_rows.keys()
                              if before_rows.get(t) != after_rows.get(t))
    different_files = sorted(f for f in before_files.keys() | after_files.keys()
                             if before_files.get(f) != after_files.get(f))
    for table in different_tables:
        print(f"{label}: {table}: {before_rows.get(table)} rows before, {after_rows.get(table)} after", file=sys.stderr)
    for name in different_files[:10]:
        print(f"{label}: file differs after restore: {name}", file=sys.stderr)
    return [
        Figure(f"backup, large demo ({label}: {rows:,} rows, {len(before_files)} files, {size_mb:.0f} MB)",
               f"{backup_seconds:.1f} s", f"< {LIMIT_SECONDS} s", backup_seconds < LIMIT_SECONDS),
        Figure(f"restore, large demo ({label})", f"{restore_seconds:.1f} s", f"< {LIMIT_SECONDS} s",
               restore_seconds < LIMIT_SECONDS),
        Figure(f"restore: tables with other row counts ({label}, of {len(before_rows)})",
               str(len(different_tables)), "0", not different_tables),
        Figure(f"restore: files missing, extra or changed ({label}, of {len(before_files)})",
               str(len(different_files)), "0", not different_files),
    ]


def figures(postgres: bool = True, sqlite: bool = True) -> list[Figure]:
    result: list[Figure] = []
    if sqlite:
        result += run(None, "SQLite")
    if postgres:
        with throwaway_postgres() as url:
            if url is None:
                result.append(Figure("backup and restore (PostgreSQL)", "skipped", "initdb missing", False))
            else:
                result += run(url, "PostgreSQL")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sqlite-only", action="store_true")
    group.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    rows = figures(postgres=not args.sqlite_only, sqlite=not args.postgres_only)
    print_table(rows)
    return 0 if all(row.passed is not False for row in rows) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
