"""hepatostat.io.read_table: every format a hospital exports, sniffed and reported; labels kept."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hepatostat.errors import InputError
from hepatostat.io import read_dictionary, read_table
from hepatostat.io.read import column_letter

PBC = Path(__file__).parents[1] / "cohort" / "data" / "pbc_like_visits.csv"
PBC_DICT = Path(__file__).parents[1] / "cohort" / "data" / "pbc_like_dictionary.toml"


def test_semicolon_decimal_comma_windows_1252_export_is_sniffed_and_reported():
    f = read_table(PBC)
    assert f.attrs["format"] == "csv"
    notes = " | ".join(f.attrs["read_notes"])
    assert "separator: semicolon" in notes
    assert "decimal comma" in notes
    assert "Windows-1252" in notes
    assert "1 blank row(s) skipped (row 6)" in notes
    assert f["bili"].dtype == float and f.loc[0, "bili"] == 0.4
    assert f.loc[0, "albumin"] == 3.43
    assert f.loc[0, "comment"] == "contrôle"


def test_row_numbers_after_a_blank_line_are_spreadsheet_rows():
    # regression (issue 14): an error after a blank line named row 4 for file line 5
    f = read_table(PBC)
    pos = 4  # the fifth data row is on file line 7 (header, 4 rows, blank line)
    assert int(f.index[pos]) + 2 == 7


def test_error_after_blank_line_names_the_file_line(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("person_id,group,x\n1,A,1\n2,A,2\n\n3,B,oops\n4,B,5\n", encoding="utf-8")
    from hepatostat.cohort import table1

    with pytest.raises(InputError, match=r"row 5, column 'x', value 'oops'"):
        table1(read_table(p), "group", variables=["x"], categorical=[], source=p)


def test_duplicated_column_name_is_an_error_naming_both_columns(tmp_path):
    # regression (issue 14): a duplicated column name kept one silently
    p = tmp_path / "dup.csv"
    p.write_text("id,tbil,alt,tbil\n1,2,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"columns B and D are both named 'tbil'"):
        read_table(p)
    x = tmp_path / "dup.xlsx"
    pd.DataFrame([[1, 2, 3]], columns=["id", "a", "b"]).rename(columns={"b": "a"}).to_excel(x, index=False)
    with pytest.raises(InputError, match=r"columns B and C are both named 'a'"):
        read_table(x)


def test_truncated_xlsx_is_a_clear_error(tmp_path):
    x = tmp_path / "t.xlsx"
    pd.DataFrame({"a": range(50)}).to_excel(x, index=False)
    data = x.read_bytes()
    x.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cannot read the file as an Excel workbook"):
        read_table(x)


def test_excel_blank_rows_keep_their_numbers(tmp_path):
    x = tmp_path / "t.xlsx"
    pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", None, "z"]}).to_excel(x, index=False)
    f = read_table(x)
    assert list(f.index + 2) == [2, 4]
    assert f["a"].dtype == float


def test_spss_variable_and_value_labels(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"id": [1.0, 2.0, 3.0, 4.0], "trt": [1.0, 2.0, 1.0, 2.0], "bili": [1.2, 0.8, 3.4, 2.2]})
    p = tmp_path / "pbc.sav"
    pyreadstat.write_sav(df, str(p), column_labels={"trt": "Treatment", "bili": "Serum bilirubin"},
                         variable_value_labels={"trt": {1.0: "D-penicillamine", 2.0: "placebo"}})
    f = read_table(p)
    assert f.attrs["format"] == "spss"
    assert f.attrs["labels"] == {"trt": "Treatment", "bili": "Serum bilirubin"}
    assert f.attrs["value_labels"]["trt"] == {1.0: "D-penicillamine", 2.0: "placebo"}
    assert list(f["trt"]) == ["D-penicillamine", "placebo", "D-penicillamine", "placebo"]
    assert list(f["trt"].cat.categories) == ["D-penicillamine", "placebo"]
    d = tmp_path / "pbc.dta"
    pyreadstat.write_dta(df, str(d), column_labels={"trt": "Treatment"},
                         variable_value_labels={"trt": {1: "D-penicillamine", 2: "placebo"}})
    g = read_table(d)
    assert g.attrs["format"] == "stata" and g.attrs["labels"]["trt"] == "Treatment"
    assert list(g["trt"]) == list(f["trt"])


def test_partial_value_labels_keep_the_codes_and_say_so(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"alb": [3.1, 99.0, 3.5]})
    p = tmp_path / "m.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={"alb": {99.0: "not measured"}})
    f = read_table(p)
    assert f["alb"].dtype == float
    assert any("do not cover" in n for n in f.attrs["read_notes"])


def test_parquet_and_duckdb(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    p = tmp_path / "t.parquet"
    df.to_parquet(p)
    assert read_table(p).equals(df)
    import duckdb

    db = tmp_path / "t.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE one AS SELECT * FROM df")
    con.execute("CREATE TABLE two AS SELECT 1 AS z")
    con.close()
    with pytest.raises(InputError, match="holds 2 tables; name one"):
        read_table(db)
    f = read_table(db, table="one")
    assert list(f["b"]) == ["x", "y"] and f.attrs["format"] == "duckdb"


def test_tsv_and_pipe_are_sniffed(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("a|b|c\n1|2|3\n4|5|6\n", encoding="utf-8")
    assert list(read_table(p).columns) == ["a", "b", "c"]
    q = tmp_path / "t.tsv"
    q.write_text("a\tb\n1,5\t2\n", encoding="utf-8")
    f = read_table(q)
    assert f.loc[0, "a"] == 1.5


def test_comma_csv_with_decimal_points_is_unchanged(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1.5,x\n2.5,y\n", encoding="utf-8")
    f = read_table(p)
    assert f["a"].tolist() == [1.5, 2.5] and f.attrs["read_notes"] == []


def test_bad_suffix_missing_and_empty(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "none.csv")
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "e.csv")
    (tmp_path / "x.foo").write_text("a")
    with pytest.raises(InputError, match="unknown table format"):
        read_table(tmp_path / "x.foo")


def test_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("a;b\n1,5;2\n".encode())))
    f = read_table("-")
    assert f.loc[0, "a"] == 1.5


def test_data_dictionary_toml_applies_labels_units_types():
    f = read_table(PBC, dictionary=PBC_DICT)
    assert f.attrs["labels"]["bili"] == "Serum bilirubin"
    assert f.attrs["units"] == {"bili": "mg/dL", "alk_phos": "U/L", "protime": "s"}
    assert f.attrs["kinds"]["person_id"] == "id"
    assert set(f["trt"].cat.categories) == {"D-penicillamine", "placebo"}
    assert set(f["edema"].dropna()) <= {"none", "untreated or resolved", "despite diuretics"}


def test_data_dictionary_csv_and_bad_type(tmp_path):
    d = tmp_path / "dict.csv"
    d.write_text("variable,label,unit,type,values\nsex,Sex,,categorical,m=male; f=female\nbili,Bilirubin,mg/dL,numeric,\n",
                 encoding="utf-8")
    dd = read_dictionary(d)
    assert dd.variables["sex"].values == {"m": "male", "f": "female"}
    assert dd.variables["bili"].kind == "continuous"
    f = read_table(PBC, dictionary=d)
    assert set(f["sex"].dropna()) == {"male", "female"}
    bad = tmp_path / "bad.csv"
    bad.write_text("variable,type\nbili,weird\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'bili', value 'weird'.*allowed: categorical"):
        read_dictionary(bad)


def test_non_utf8_dictionary_is_an_error(tmp_path):
    d = tmp_path / "d.toml"
    d.write_bytes("[x]\nlabel = \"Bilirubine totale \xe9\"\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_dictionary(d)


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_io_tables_read_table_still_importable():
    from hepatostat.io.tables import read_table as old

    assert old is read_table


def test_row_with_more_cells_than_the_header_is_an_error_naming_its_row(tmp_path):
    # pandas would take the first column as the index and shift every name by one
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n\n3,4,5\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 4, value '5': this row has 3 cells but the header names 2"):
        read_table(p)
    q = tmp_path / "trailing.csv"
    q.write_text("a,b\n1,2,\n3,4,\n", encoding="utf-8")  # trailing separators are harmless
    assert read_table(q)["b"].tolist() == [2, 4]
