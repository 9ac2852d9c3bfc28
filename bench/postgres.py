"""A throwaway PostgreSQL server for the benchmarks, as `make test` starts one for the suite.

    with throwaway_postgres() as url:      # None when initdb is not installed (said loudly)
        ...  # postgresql+psycopg://convene@127.0.0.1:PORT/convene_bench

The server runs as user postgres when we are root (via runuser), listens on a free loopback port,
keeps PostgreSQL's default durability settings (fsync and synchronous_commit on, unlike the test
suite's), and is stopped and deleted on exit.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from server import free_port


def pg_bin() -> Path | None:
    """The folder of initdb/pg_ctl: on PATH, or the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


@contextlib.contextmanager
def throwaway_postgres(database: str = "convene_bench") -> Iterator[str | None]:
    binaries = pg_bin()
    if binaries is None:
        print("!!!!! POSTGRESQL SKIPPED: initdb not found (install postgresql to measure it) !!!!!", file=sys.stderr)
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="convene-bench-pg-"))
    as_pg: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"

    def run(*command: str) -> None:
        subprocess.run([*as_pg, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "convene", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8")
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "30", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")
        run(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "convene", database)
        yield f"postgresql+psycopg://convene@127.0.0.1:{port}/{database}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def another_database(url: str, name: str) -> str:
    """A new empty database on the same throwaway server, for a benchmark that wants its own."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)
