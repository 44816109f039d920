"""Ingest from a real PostgreSQL server (.ci/run starts one; set AUTOPIPE_TEST_POSTGRES)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from flows.core.data.ingest import ingest, read_table
from flows.core.data.sources import parse_source

URI = os.environ.get("AUTOPIPE_TEST_POSTGRES")


@pytest.fixture
def people_table() -> Iterator[str]:
    if not URI:
        if os.environ.get("CI"):
            pytest.fail("CI must provide AUTOPIPE_TEST_POSTGRES (see .ci/postgres)")
        pytest.skip("no PostgreSQL server: run .ci/postgres and set AUTOPIPE_TEST_POSTGRES")
    import psycopg

    table = f"people_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (age integer, name text, income numeric(10,2), "
                     "joined date)")
        conn.execute(f"INSERT INTO {table} VALUES (30, 'ann', 1000.50, '2024-01-02'), "
                     "(40, 'bob', NULL, '2024-03-04'), (30, 'ann', 1000.50, '2024-01-02'), "
                     "(50, 'cy', 3000, NULL)")
    yield table
    with psycopg.connect(URI, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {table}")


def test_table_is_ingested_with_types_and_duplicates_dropped(people_table: str,
                                                             tmp_path: Path) -> None:
    result = ingest(parse_source(f"{URI}?table={people_table}"), tmp_path / "d")
    assert result.created and result.dataset.rows == 3
    assert result.dataset.report["duplicates_dropped"] == 1
    assert result.dataset.name == people_table
    assert "autopipe:autopipe" not in result.dataset.source  # no password in the catalog
    frame = read_table(f"{URI}?table={people_table}")
    assert frame["age"].to_list() == [30, 40, 30, 50]
    assert frame.schema["income"] == pl.Float64  # numeric(10,2) arrives as a number
    assert frame["income"].to_list()[:2] == [1000.5, None]


def test_query_reads_what_it_selects(people_table: str, tmp_path: Path) -> None:
    source = parse_source(URI or "", f"SELECT name FROM {people_table} WHERE age >= 40")
    result = ingest(source, tmp_path / "d")
    assert result.dataset.rows == 2 and result.dataset.columns == 1
    again = ingest(source, tmp_path / "d")
    assert again.dataset.content_hash == result.dataset.content_hash and not again.created
