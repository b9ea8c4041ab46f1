"""The dataset scaffold: sniffing tiny raw files and a params entry that the project's loader accepts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.core.params import load_params
from pipeline.data.sniff import sniff_column, sniff_table
from pipeline.stages.cli import main
from pipeline.stages.scaffold import default_name, guess_end_reason, new_dataset_text, raw_path

ROOT = Path(__file__).resolve().parents[2]

REGISTER = """统一社会信用代码,名称,区,成立日期,注销日期,注销原因
S001,甲,A区,2015年3月,,
S002,乙,A区,2012年7月2日,2018年1月,注销
S003,丙,B区,2010年,2016年5月3日,合并
S004,丁,B区,2016年11月,,
S005,戊,A区,2011年2月,2020年,撤销
S006,己,B区,2013年4月9日,,
"""
PANEL = """id,year,staff,gov_share
S001,2016,3,0.5
S001,2017,4,0.4
S002,2016,5,0.2
S002,2017,6,0.25
S003,2014,2,0.9
S003,2015,2,0.8
"""
SERIES = """year,total,new,note
2000,100,10,a
2001,105,12,a
2002,111,9,b
2003,118,14,b
"""
REGISTER_ONLY = """org_id,founded,ended,type
A1,2001-03-04,2005-06-01,x
A2,2002-05,,y
A3,2003,2004-02-02,x
A4,2004-01-15,,y
"""


def _write(folder: Path, files: dict[str, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return [(folder / name).as_posix() for name in files]


def test_chinese_dates_are_sniffed_with_their_precision() -> None:
    col = sniff_column("成立日期", pd.Series(["2015年3月", "2012年7月2日", "2010年", None]))
    assert col.kind == "date"
    assert col.precision == {"day": 1, "month": 1, "year": 1}
    assert "Chinese (年/月/日)" in col.date_forms
    assert (col.minimum, col.maximum) == (2010.0, 2015.0)
    assert col.n_missing == 1


def test_year_share_percent_and_category_columns() -> None:
    assert sniff_column("year", pd.Series(["2000", "2001"])).kind == "year"
    assert sniff_column("gov_share", pd.Series(["0.5", "0.25"])).kind == "share"
    assert sniff_column("gov_share_pct", pd.Series(["50", "25", "0.5"])).kind == "percent"
    district = sniff_column("district", pd.Series(["A", "B", "A", "B"]))
    assert (district.kind, district.levels) == ("category", ("A", "B"))
    assert sniff_column("note", pd.Series(["x", None])).n_missing == 1


def test_roles_of_register_panel_and_series(tmp_path: Path) -> None:
    reg, panel, series = _write(tmp_path, {"reg.csv": REGISTER, "panel.csv": PANEL, "pop.csv": SERIES})
    from pipeline.data.read import read_table

    r = sniff_table(read_table(reg), reg)
    assert r.role == "organizations"
    assert r.roles == {
        "org_id": "统一社会信用代码",
        "founded": "成立日期",
        "ended": "注销日期",
        "end_reason": "注销原因",
    }
    p = sniff_table(read_table(panel), panel)
    assert (p.role, p.roles["org_id"], p.roles["year"], p.roles["size"]) == ("panel", "id", "year", "staff")
    s = sniff_table(read_table(series), series)
    assert s.role == "population"
    assert s.roles == {"year": "year", "density": "total", "foundings": "new"}


def test_end_reasons_and_paths() -> None:
    assert guess_end_reason("合并")[0] == "competing"
    assert guess_end_reason("迁出")[0] == "censoring"
    assert guess_end_reason("注销")[0] == "death"
    assert guess_end_reason("other")[1].endswith("CHECK")
    assert raw_path("data/raw/d/x.csv", "d") == ("data/raw/d/x.csv", None)
    path, move = raw_path("/home/me/x.csv", "d")
    assert path == "data/raw/d/x.csv" and "copy it to data/raw/d/x.csv" in move
    assert "`raw_root: /home/me` with `path: /home/me/x.csv`" in move
    assert default_name(["data/raw/my_ngos/reg.csv"]) == "my_ngos"
    assert default_name(["2020 counts.csv"]) == "d_2020_counts"


def _merge(tmp_path: Path, entries: dict[str, str]) -> dict:
    """Paste each generated entry under `datasets:` of a copy of params.yaml and load it."""
    text = (ROOT / "params.yaml").read_text(encoding="utf-8")
    for entry in entries.values():
        text = text.replace("\ndatasets:\n", "\ndatasets:\n" + entry, 1)
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    return load_params(tmp_path / "params.yaml")


def test_generated_entries_load_with_the_params_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    raw = Path("data/raw")
    ngos = _write(raw / "my_ngos", {"reg.csv": REGISTER, "panel.csv": PANEL})
    series = _write(raw / "my_pop", {"pop.csv": SERIES})
    only = _write(raw / "my_register", {"register.csv": REGISTER_ONLY})
    entries = {
        "my_ngos": new_dataset_text(ngos, "my_ngos"),
        "my_pop": new_dataset_text(series, "my_pop"),
        "my_register": new_dataset_text(only, "my_register"),
    }
    assert all("CHECK" in e for e in entries.values())
    params = _merge(tmp_path, entries)
    ngo = params["datasets"]["my_ngos"]
    assert ngo["kind"] == "organizations"
    assert ngo["window"] == {"start": 2010, "end": 2020}
    assert ngo["organizations"]["columns"]["founded"] == "成立日期"
    assert ngo["end_reasons"] == {"合并": "competing", "撤销": "death", "注销": "death"}
    assert ngo["panel"]["measures"] == {"size": "staff", "funding_share": "gov_share"}
    assert ngo["organizations"]["attributes"] == ["区"]
    pop = params["datasets"]["my_pop"]
    assert (pop["kind"], pop["window"], pop["population"]["keep"]) == (
        "population",
        {"start": 2000, "end": 2003},
        ["note"],
    )
    reg = params["datasets"]["my_register"]
    assert "panel" not in reg
    assert reg["models"]["fit_survival"]["steps"]["controls"].startswith("Surv(start, stop, event) ~ density")


def test_files_outside_data_raw_are_declared_under_it_with_a_check(tmp_path: Path, capsys) -> None:
    (series,) = _write(tmp_path / "elsewhere", {"counts.csv": SERIES})
    assert main(["new-dataset", series, "--name", "counts"]) == 0
    out = capsys.readouterr().out
    assert "path: data/raw/counts/counts.csv" in out
    assert f"# CHECK: {series} is outside data/raw/counts/" in out


def test_out_file_and_refusal_to_write_params(tmp_path: Path, capsys) -> None:
    (series,) = _write(tmp_path, {"pop.csv": SERIES})
    target = tmp_path / "entry.yaml"
    assert main(["new-dataset", series, "--name", "p", "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("# generated by `python -m pipeline new-dataset`")
    params = tmp_path / "params.yaml"
    params.write_text("seed: 1\n", encoding="utf-8")
    assert main(["--params", str(params), "new-dataset", series, "--out", str(params)]) == 2
    assert "never into params.yaml itself" in capsys.readouterr().err
    assert params.read_text(encoding="utf-8") == "seed: 1\n"


def test_unreadable_file_is_an_error_naming_it(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "empty.csv"
    bad.write_text("", encoding="utf-8")
    assert main(["new-dataset", str(bad)]) == 1
    assert "empty.csv" in capsys.readouterr().err


def test_bundled_series_is_sniffed_like_its_params_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = ROOT / "data/raw/us_commercial_banks/cb_structure.csv"
    dest = Path("data/raw/banks")
    dest.mkdir(parents=True)
    shutil.copy(src, dest / src.name)
    text = new_dataset_text([(dest / src.name).as_posix()], "banks")
    assert "year: YEAR" in text and "density: TOTAL" in text


def test_yaml_words_and_odd_names_are_quoted() -> None:
    from pipeline.core.params import parse_params_text
    from pipeline.stages.scaffold import q

    for name in ("no", "Yes", "null", "成立 日期", "a: b", "#x", "1990"):
        assert parse_params_text(f"k: {q(name)}\n") == {"k": name}
    assert q("data/raw/d/x.csv") == "data/raw/d/x.csv"


MESSY = """org_id,founded,ended
A1,2015.3,
A2,2012-07-02,2018-01
A2,2013-01-01,
A3,2015年13月,
A4,2011,2010
"""


def test_a_messy_register_is_still_a_register_with_checks(tmp_path: Path) -> None:
    (reg,) = _write(tmp_path / "data/raw/messy", {"register.csv": MESSY})
    text = new_dataset_text([reg], "messy")
    assert "kind: organizations" in text
    assert "CHECK not read as dates: 2015.3, 2015年13月" in text
    assert "1 repeated (CHECK: validate_inputs stops on repeated ids with different dates)" in text
    assert "columns: {org_id: org_id, founded: founded, ended: ended}" in text
    assert "date_epoch" not in text  # text dates carry their own form; only plain numbers need an epoch


def test_plain_numbers_under_a_date_name_ask_for_date_epoch(tmp_path: Path) -> None:
    reg = "org_id,founded,closure_date\nA1,2001-02-03,16000\nA2,2002-03-04,17000\nA3,2003-04-05,\n"
    (path,) = _write(tmp_path / "data/raw/n", {"register.csv": reg})
    text = new_dataset_text([path], "n")
    assert "# CHECK: closure_date hold plain numbers under a date-like name" in text
    assert "\n      date_epoch:" not in text


def test_files_that_make_no_dataset_are_an_error(tmp_path: Path, capsys) -> None:
    (notes,) = _write(tmp_path, {"notes.csv": "a,b\nx,1\ny,2\n"})
    assert main(["new-dataset", notes]) == 1
    err = capsys.readouterr().err
    assert "no register" in err and "a (text), b (integer)" in err


def test_typed_dates_of_stata_and_excel_files(tmp_path: Path) -> None:
    import datetime as dt

    folder = tmp_path / "data/raw/typed"
    folder.mkdir(parents=True)
    reg = pd.DataFrame(
        {
            "org_id": ["A1", "A2", "A3"],
            "founded": [dt.datetime(2001, 2, 3), dt.datetime(2002, 3, 4), dt.datetime(2003, 4, 5)],
            "ended": [dt.datetime(2005, 1, 1), pd.NaT, pd.NaT],
        }
    )
    reg.to_stata(folder / "reg.dta", write_index=False)
    reg.to_excel(folder / "reg.xlsx", index=False)
    for name in ("reg.dta", "reg.xlsx"):
        text = new_dataset_text([(folder / name).as_posix()], "typed")
        assert "#   founded: date, 3 distinct, 0 missing; precision day 3" in text, name
        assert "window: {start: 2001, end: 2005}" in text
