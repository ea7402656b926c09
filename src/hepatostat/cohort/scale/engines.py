"""Engine adapters: what the SQL of :mod:`.sql` needs from DuckDB and from Spark.

An :class:`Engine` runs a statement, fetches a small result into pandas, and
lists the columns of a table. :func:`duckdb_engine` opens an out-of-core
DuckDB connection with the OMOP Parquet files as views; :func:`spark_engine`
registers the tables (paths or DataFrames) as temporary views of a Spark
session, making a local one when none is given.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .sql import DUCKDB, SPARK, Dialect

__all__ = ["Engine", "DuckDBEngine", "SparkEngine", "duckdb_engine", "spark_engine", "local_spark_session",
           "require_pyspark", "spark_frames", "spark_session"]


class Engine(abc.ABC):
    """What the SQL needs from an engine: run a statement, fetch a small result, columns of a table."""

    dialect: Dialect

    @abc.abstractmethod
    def execute(self, sql: str) -> None:
        """Run one statement."""

    @abc.abstractmethod
    def fetch(self, sql: str) -> pd.DataFrame:
        """Run a query and return its (small) result."""

    @abc.abstractmethod
    def columns(self, table: str) -> list[str]:
        """Column names of a table or view."""

    @abc.abstractmethod
    def types(self, table: str) -> dict[str, str]:
        """Column name (as written) -> the engine's type name, of a table or view."""


class DuckDBEngine(Engine):
    dialect = DUCKDB

    def __init__(self, con):
        self.con = con

    def execute(self, sql):
        self.con.execute(sql)

    def fetch(self, sql):
        return self.con.execute(sql).df()

    def columns(self, table):
        return [r[0].lower() for r in self.con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()]

    def types(self, table):
        return {r[0]: str(r[1]) for r in self.con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()}


class SparkEngine(Engine):
    dialect = SPARK

    def __init__(self, spark):
        self.spark = spark

    def execute(self, sql):
        self.spark.sql(sql)

    def fetch(self, sql):
        df = self.spark.sql(sql)
        return pd.DataFrame([tuple(r) for r in df.collect()], columns=df.columns)

    def columns(self, table):
        return [c.lower() for c in self.spark.table(table).columns]

    def types(self, table):
        return dict(self.spark.table(table).dtypes)



def duckdb_engine(paths: Mapping[str, str], *, threads: int, memory_limit: str, temp_directory) -> DuckDBEngine:
    """A DuckDB connection (``threads``, ``memory_limit``, spilling to ``temp_directory``) with one view per table.

    A path that is a folder is read as all its ``*.parquet`` parts (recursively).
    Close it with ``engine.con.close()``.
    """
    import duckdb

    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit,
                                 "temp_directory": str(temp_directory), "preserve_insertion_order": False})
    try:
        con.execute("SET enable_progress_bar = false")
        for name, p in paths.items():
            src = str(Path(p) / "**" / "*.parquet") if Path(p).is_dir() else str(p)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({DUCKDB.lit(src)})")
    except BaseException:
        con.close()
        raise
    return DuckDBEngine(con)


def local_spark_session(threads: int = 2, *, shuffle_partitions: int = 8):
    """A local Spark session (``local[threads]``, UTC, no UI), for :func:`spark_engine` when none is active."""
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master(f"local[{int(threads)}]").appName("hepatostat-scale")
            .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
            .config("spark.sql.session.timeZone", "UTC").getOrCreate())


def require_pyspark(what: str) -> None:
    """Stop with an :class:`InputError` naming ``what`` when pyspark cannot be imported."""
    from ...errors import InputError

    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError(f"{what} needs pyspark (pip install pyspark) and Java 17 or later") from None


def spark_frames(tables: Mapping | None) -> tuple[dict, Mapping | None]:
    """Split ``tables`` into Spark DataFrames and the mapping :func:`.inputs.table_paths` takes.

    A DataFrame is shown in the paths as ``<DataFrame name>``, so messages and
    the synthetic-data check name it without reading it.
    """
    frames = {k: v for k, v in (tables or {}).items() if hasattr(v, "createOrReplaceTempView")}
    if tables is None:
        return frames, None
    return frames, {k: (f"<DataFrame {k}>" if k in frames else v) for k, v in tables.items()}


@contextmanager
def spark_session(spark=None, threads: int = 2) -> Iterator:
    """The given or active Spark session; otherwise a local one, stopped on exit."""
    from pyspark.sql import SparkSession

    if spark is None:
        spark = SparkSession.getActiveSession()
    own = spark is None
    if own:
        spark = local_spark_session(threads)
    try:
        yield spark
    finally:
        if own:
            spark.stop()


def spark_engine(spark, paths: Mapping[str, str], frames: Mapping | None = None) -> SparkEngine:
    """Register each table as a temporary view of ``spark``: a DataFrame from ``frames``, else ``paths``' Parquet."""
    frames = frames or {}
    for name, p in paths.items():
        (frames[name] if name in frames else spark.read.parquet(p)).createOrReplaceTempView(name)
    return SparkEngine(spark)
