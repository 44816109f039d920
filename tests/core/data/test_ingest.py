from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import polars as pl
import pytest

from flows.core.data.ingest import check_source, ingest, read_table
from flows.core.data.sources import parse_source
from flows.core.errors import SchemaError, SourceError


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def ingest_file(path: Path, datasets: Path, name: str | None = None):  # type: ignore[no-untyped-def]
    return ingest(parse_source(str(path)), datasets, name)


def test_tokens_become_null_text_is_trimmed_and_typed(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv",
                   "a,b,c,d,e\n 1 ,x,?,yes,2024-01-02\n2, NA ,3.5,no,2024-02-03\n"
                   "?,y,4,yes,?\n")
    frame = read_table(str(source))
    assert frame.schema == pl.Schema({"a": pl.Int64, "b": pl.String, "c": pl.Float64,
                                      "d": pl.Boolean, "e": pl.Date})
    assert frame["a"].to_list() == [1, 2, None]
    assert frame["b"].to_list() == ["x", None, "y"]
    assert frame["c"].to_list() == [None, 3.5, 4.0]
    assert frame["d"].to_list() == [True, False, True]


def test_ingest_drops_exact_duplicates_keeping_order_and_reports(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b\n3,x\n1,y\n3,x\n2,?\n1,y\n")
    result = ingest_file(source, tmp_path / "d")
    snapshot = pl.read_parquet(result.dataset.snapshot_path)
    assert snapshot.rows() == [(3, "x"), (1, "y"), (2, None)]
    report = result.dataset.report
    assert report["rows_read"] == 5 and report["rows"] == 3 and report["duplicates_dropped"] == 2
    assert report["identifier"] == "a" and report["duplicates_kept"] == 0
    columns = {c["name"]: c for c in report["columns"]}
    assert columns["b"]["missing"] == 1 and "?" in report["missing_tokens"]


def test_repeated_rows_without_an_identifying_column_are_kept_as_observations(
        tmp_path: Path) -> None:
    # One feature vector seen four times with two outcomes, as in the shared mammography
    # table: dropping the repeats would turn its 25% positives into 50%.
    rows = ["0.5,1,b", "0.5,1,b", "0.5,1,m", "0.5,1,b", "0.7,1,b", "0.5,2,b"]
    source = write(tmp_path / "t.csv", "x,k,label\n" + "\n".join(rows) + "\n")
    result = ingest_file(source, tmp_path / "d")
    snapshot = pl.read_parquet(result.dataset.snapshot_path)
    assert snapshot["label"].to_list() == ["b", "b", "m", "b", "b", "b"]
    report = result.dataset.report
    assert (report["rows"], report["duplicates_dropped"], report["duplicates_kept"]) == (6, 0, 2)
    assert report["identifier"] is None


def test_delimiter_quoting_and_latin1_are_sniffed(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv",
                   "name;city;n\n\"Dupont; Jean\";M\xfcnchen;1\nJos\xe9;Paris;2\n"
                   .encode("latin-1"))
    frame = read_table(str(source))
    assert frame.columns == ["name", "city", "n"]
    assert frame["name"].to_list() == ["Dupont; Jean", "José"]
    assert frame["city"].to_list() == ["München", "Paris"]


def test_tsv_gzip_parquet_json_ndjson_and_excel_are_read(tmp_path: Path) -> None:
    expected = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write(tmp_path / "t.tsv", "a\tb\n1\tx\n2\ty\n")
    write(tmp_path / "t.csv.gz", gzip.compress(b"a,b\n1,x\n2,y\n"))
    expected.write_parquet(tmp_path / "t.parquet")
    write(tmp_path / "t.json", json.dumps(expected.to_dicts()))
    write(tmp_path / "t.ndjson", "".join(json.dumps(r) + "\n" for r in expected.to_dicts()))
    expected.write_excel(tmp_path / "t.xlsx")
    for name in ("t.tsv", "t.csv.gz", "t.parquet", "t.json", "t.ndjson", "t.xlsx"):
        frame = read_table(str(tmp_path / name))
        assert frame["a"].to_list() == [1, 2], name
        assert frame["b"].to_list() == ["x", "y"], name


def test_sqlite_table_and_query(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (age INTEGER, name TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, ?)", [(30, "a"), (40, "b"), (50, "c")])
    assert read_table(f"sqlite:///{db}?table=people").height == 3
    result = ingest(parse_source(f"sqlite:///{db}", "SELECT * FROM people WHERE age > 35"),
                    tmp_path / "d")
    assert result.dataset.rows == 2 and result.dataset.name == "query"
    with pytest.raises(SourceError, match="needs a table or a query"):
        parse_source(f"sqlite:///{db}")
    with pytest.raises(SourceError, match="could not read"):
        read_table(f"sqlite:///{db}?table=missing")


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="could not connect") as info:
        read_table("postgresql://nobody@127.0.0.1:1/none?table=t")
    assert "server is running" in info.value.hint


def test_identical_content_is_the_same_version_and_writes_nothing(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b\n1,x\n2,y\n")
    first = ingest_file(source, tmp_path / "datasets")
    files = sorted(p.name for p in (tmp_path / "datasets").iterdir())
    again = ingest_file(source, tmp_path / "datasets")
    assert first.created and not again.created
    assert first.dataset.content_hash == again.dataset.content_hash
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == files
    assert first.dataset.snapshot_path.name == f"{first.dataset.content_hash[:16]}.parquet"


def test_changed_content_gets_a_new_version(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "a,b\n1,x\n2,y\n")
    first = ingest_file(source, tmp_path / "d")
    write(source, "a,b\n1,x\n3,y\n")
    second = ingest_file(source, tmp_path / "d")
    assert first.dataset.content_hash != second.dataset.content_hash and second.created


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", "", "is empty"),
    ("header.csv", "a,b\n", "no data rows"),
    ("garbage.csv", b"\x00\x01\x02binary\xff\xfe" * 200, "holds binary data"),
    ("ragged.csv", "a,b\n1,2\n3,4,5\n6,7\n", "different number of fields|single column"),
    ("truncated.parquet", b"PAR1" + b"\x00" * 50, "damaged or still being written"),
    ("mixed_delimiters.csv", "a,b,c\n1;2;3\n4;5;6\n", "do not match the rest"),
    ("no_header.csv", "1,2.5,3\n4,5.5,6\n7,8.5,9\n", "no header row|do not match"),
    ("table.xml", "<a/>", "unsupported file type"),
    ("bad.json", "{not json", "could not read"),
])
def test_bad_files_are_rejected_with_a_reason(tmp_path: Path, name: str, content: str | bytes,
                                              message: str) -> None:
    source = write(tmp_path / name, content)
    with pytest.raises((SourceError, SchemaError), match=message) as info:
        ingest_file(source, tmp_path / "datasets")
    assert info.value.hint
    assert not list((tmp_path / "datasets").glob("*.parquet"))


def test_a_truncated_parquet_file_being_written_is_rejected(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    pl.DataFrame({"a": list(range(1000))}).write_parquet(whole)
    cut = write(tmp_path / "cut.parquet", whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(SourceError, match="damaged or still being written"):
        ingest_file(cut, tmp_path / "datasets")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found") as info:
        parse_source(str(tmp_path / "nope.csv"))
    assert "nope.csv" in info.value.message and info.value.hint


def test_unknown_target_suggests_close_names(tmp_path: Path) -> None:
    source = write(tmp_path / "t.csv", "Survived,age\n1,3\n")
    with pytest.raises(SchemaError, match="'survivd' is not in the table") as info:
        check_source(str(source), "survivd")
    assert "'Survived'" in info.value.hint


def test_report_flags_columns_a_model_will_skip(tmp_path: Path) -> None:
    rows = "".join(f"{i},same,,{i % 3}\n" for i in range(50))
    result = ingest_file(write(tmp_path / "t.csv", "id,const,empty,k\n" + rows), tmp_path / "d")
    flags = {c["name"]: c["flag"] for c in result.dataset.report["columns"]}
    assert flags == {"id": "unique per row", "const": "constant", "empty": "all missing",
                     "k": None}


def test_report_keeps_how_text_stored_otherwise_was_written(tmp_path: Path) -> None:
    rows = ["Yes,yes,TRUE, >50K,1,a,x", "No,no,FALSE, <=50K,2,b,y", "yes,yes,TRUE, >50K,1,a,x",
            "Yes,no,FALSE, <=50K,2, b,z"]
    source = write(tmp_path / "t.csv", "yn,low,upper,income,n,text,plain\n"
                   + "\n".join(rows) + "\n")
    report = ingest_file(source, tmp_path / "d").dataset.report
    # yn: Yes twice, yes once. text: 'b' and ' b' once each, a tie the stored text wins, so
    # it reads as stored. Numbers stay numbers; text stored as written needs no record.
    assert report["spellings"] == {
        "yn": {"true": "Yes", "false": "No"}, "low": {"true": "yes", "false": "no"},
        "upper": {"true": "TRUE", "false": "FALSE"},
        "income": {">50K": " >50K", "<=50K": " <=50K"}}


def test_written_forms_come_from_every_row_when_the_first_rows_miss_a_value(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flows.core.data.cleaning.CANDIDATE_ROWS", 5)
    source = write(tmp_path / "t.csv", "x,y,z\n" + "".join(
        f"{i},{'No' if i < 10 else 'Yes'},{' a' if i < 10 else ' b'}\n" for i in range(14)))
    report = ingest_file(source, tmp_path / "d").dataset.report
    assert report["spellings"] == {"y": {"false": "No", "true": "Yes"},
                                   "z": {"a": " a", "b": " b"}}


def test_stored_booleans_and_many_valued_text_keep_no_written_forms(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("flows.core.data.cleaning.SPELLED_MAX_VALUES", 3)
    frame = pl.DataFrame({"flag": [True, False, True, False],
                          "few": [" a", " b", " a", " b"], "many": [" a", " b", " c", " d"]})
    frame.write_parquet(tmp_path / "t.parquet")
    report = ingest_file(tmp_path / "t.parquet", tmp_path / "d").dataset.report
    assert report["spellings"] == {"few": {"a": " a", "b": " b"}}


def test_values_written_in_single_quotes_keep_them_unless_they_hold_the_delimiter(
        tmp_path: Path) -> None:
    quoted = tmp_path / "quoted.csv"
    quoted.write_text("x,label\n" + "".join(f"{i},'{'-1' if i % 3 else '1'}'\n"
                                            for i in range(30)))
    assert set(read_table(str(quoted))["label"]) == {"'-1'", "'1'"}  # as written
    needed = tmp_path / "needed.csv"
    needed.write_text("name,y\n" + "".join(f"'Smith, J{i}',{i % 2}\n" for i in range(30)))
    assert read_table(str(needed))["name"][0] == "Smith, J0"  # quoting that holds a comma
