from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.core.errors import SchemaError, SourceError
from flows.core.ingest import check_source, ingest_source, read_table, snapshot


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_missing_tokens_become_null_and_numbers_stored_as_text_become_numbers(
        tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b,c\n 1 ,x,?\n2, NA ,3.5\n?,y,4\n")
    frame = read_table(source)
    assert frame.schema == pl.Schema({"a": pl.Int64, "b": pl.String, "c": pl.Float64})
    assert frame["a"].to_list() == [1, 2, None]
    assert frame["b"].to_list() == ["x", None, "y"]
    assert frame["c"].to_list() == [None, 3.5, 4.0]


def test_tsv_and_parquet_are_read(tmp_path: Path) -> None:
    tsv = write(tmp_path / "t.tsv", "a\tb\n1\tx\n2\ty\n")
    assert read_table(tsv).shape == (2, 2)
    parquet = tmp_path / "t.parquet"
    pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}).write_parquet(parquet)
    assert read_table(parquet)["b"].to_list() == ["x", "y"]


def test_snapshot_is_content_addressed_and_written_once(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b\n1,x\n2,y\n")
    frame = read_table(source)
    first, created = snapshot(frame, source, tmp_path / "datasets")
    again, created_again = snapshot(frame, source, tmp_path / "datasets")
    assert created and not created_again
    assert first.content_hash == again.content_hash
    assert first.snapshot_path.name == f"{first.content_hash[:16]}.parquet"
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == [first.snapshot_path.name]
    assert pl.read_parquet(first.snapshot_path).equals(frame)


def test_changed_content_gets_a_new_version(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b\n1,x\n2,y\n")
    first, _ = snapshot(read_table(source), source, tmp_path / "d")
    write(source, "a,b\n1,x\n3,y\n")
    second, _ = snapshot(read_table(source), source, tmp_path / "d")
    assert first.content_hash != second.content_hash


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("a,b\n", "no data rows"),
])
def test_empty_inputs_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    source = write(tmp_path / "t.csv", content)
    with pytest.raises((SourceError, SchemaError), match=message):
        read_table(source)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found") as info:
        read_table(tmp_path / "nope.csv")
    assert "nope.csv" in info.value.message and info.value.hint


def test_unsupported_suffix_lists_the_formats(tmp_path: Path) -> None:
    source = write(tmp_path / "t.xml", "<a/>")
    with pytest.raises(SourceError, match="unsupported file type") as info:
        read_table(source)
    assert ".parquet" in info.value.hint


def test_binary_garbage_is_a_source_error(tmp_path: Path) -> None:
    source = tmp_path / "t.parquet"
    source.write_bytes(b"\x00\x01garbage\xff" * 100)
    with pytest.raises(SourceError, match=r"could not read .* as Parquet"):
        read_table(source)


def test_unknown_target_suggests_close_names(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "Survived,age\n1,3\n")
    with pytest.raises(SchemaError, match="'survivd' is not in the table") as info:
        check_source(source, "survivd")
    assert "'Survived'" in info.value.hint


def test_ingest_writes_nothing_when_the_target_is_missing(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b\n1,x\n")
    with pytest.raises(SchemaError):
        ingest_source(str(source), "target", tmp_path / "datasets")
    assert not (tmp_path / "datasets").exists()
