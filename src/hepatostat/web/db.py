"""The workbench's access to the review project: one process, one connection.

The server process opens the project's DuckDB file read-write once and keeps
it for its lifetime (DuckDB then locks the file against other processes), and
every read or write of every request goes through :meth:`Store.run` /
:meth:`Store.call`, which hold one lock. Writes are therefore serialised in
the server: any number of reviewers can decide at once without lock errors,
and a write either commits whole or not at all.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError

__all__ = ["Store", "WEB_SCHEMA"]

#: tables of the web layer (accounts, sessions, settings, audit); created on first start
WEB_SCHEMA = """
CREATE TABLE IF NOT EXISTS web_users (
    username VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, role VARCHAR NOT NULL,
    created_at VARCHAR, active BOOLEAN DEFAULT TRUE);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, csrf VARCHAR NOT NULL,
    created_at DOUBLE, last_seen DOUBLE);
CREATE TABLE IF NOT EXISTS web_settings (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS web_audit (
    event_id BIGINT PRIMARY KEY, at_time VARCHAR, username VARCHAR, action VARCHAR, detail VARCHAR);
"""


class Store:
    """The project database owned by this process.

    Parameters
    ----------
    path : the review project's ``.duckdb`` file (``hepatostat review init``);
        if it does not exist, an empty project is created (records can then
        be imported from the workbench's import page).
    """

    def __init__(self, path, *, screeners_per_record: int = 2):
        import duckdb

        from ..review.screening import Project, create_empty_project

        self.path = Path(path)
        if not self.path.exists():
            create_empty_project(self.path, screeners_per_record=screeners_per_record)
        try:
            self.con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            if "lock" in msg.lower():
                raise InputError("the project file is open in another process (another workbench or a running "
                                 "command); the workbench must be the only process using it", file=self.path) from None
            raise InputError(f"cannot open the project file: {msg}", file=self.path) from None
        self.lock = threading.RLock()
        try:
            self.project = Project(self.path, connection=self.con)
            self.execute_script(WEB_SCHEMA)
        except Exception:
            self.con.close()
            raise

    # ------------------------------------------------------------------ access
    def run(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """Run ``fn(*args, **kwargs)`` holding the database lock (from a
        worker thread or a synchronous test)."""
        with self.lock:
            return fn(*args, **kwargs)

    async def call(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """From a request handler: run ``fn`` in the thread pool holding the
        database lock, so the event loop never blocks on the database."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.run, fn, *args, **kwargs)

    def query(self, sql: str, params=None) -> list[tuple]:
        with self.lock:
            return self.con.execute(sql, params or []).fetchall()

    def execute(self, sql: str, params=None) -> None:
        with self.lock:
            self.con.execute(sql, params or [])

    def execute_script(self, sql: str) -> None:
        """Run several ``;``-separated statements (``CREATE TABLE IF NOT EXISTS``
        schemas of web modules) in one transaction."""
        with self.lock:
            self.con.execute("BEGIN")
            try:
                for stmt in sql.split(";"):
                    if stmt.strip():
                        self.con.execute(stmt)
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise

    def transaction(self):
        """``with store.transaction() as con:`` — holds the lock, commits on
        success, rolls back on an exception."""
        store = self

        class _Tx:
            def __enter__(self):
                store.lock.acquire()
                store.con.execute("BEGIN")
                return store.con

            def __exit__(self, et, ev, tb):
                try:
                    store.con.execute("ROLLBACK" if et else "COMMIT")
                finally:
                    store.lock.release()
                return False

        return _Tx()

    def next_id(self, con, table: str, column: str = "event_id") -> int:
        """The next integer id of an append-only table (call inside a transaction)."""
        return int(con.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}").fetchone()[0])

    def audit(self, username: str | None, action: str, detail: str = "") -> None:
        """Append a line to the audit log (logins, accounts, imports)."""
        from ..review.screening import _now

        with self.transaction() as con:
            con.execute("INSERT INTO web_audit VALUES (?, ?, ?, ?, ?)",
                        [self.next_id(con, "web_audit"), _now(), username, action, detail])

    def setting(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM web_settings WHERE key = ?", [key])
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as con:
            con.execute("DELETE FROM web_settings WHERE key = ?", [key])
            con.execute("INSERT INTO web_settings VALUES (?, ?)", [key, value])

    def close(self) -> None:
        with self.lock:
            try:
                self.con.execute("CHECKPOINT")
            except Exception:  # pragma: no cover - closing anyway
                pass
            self.con.close()
