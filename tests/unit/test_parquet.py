"""Parquet outputs carry no library versions: the same data give the same bytes under any pyarrow/pandas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.io import write_parquet
from pipeline.core.parquet import CREATED_BY, replace_created_by

FRAME = pd.DataFrame(
    {
        "org_id": ["SW1", "SW2", "SW3"],
        "staff": [1.5, None, 3.25],
        "year": pd.array([2001, None, 2003], dtype="Int64"),
        "district": pd.Categorical(["dongcheng", "xicheng", "dongcheng"]),
        "founded": pd.to_datetime(["2001-03-02", None, "2003-12-31"]),
        "alive": [True, False, True],
    }
)


def test_round_trip_keeps_values_and_dtypes(tmp_path: Path) -> None:
    write_parquet(tmp_path / "t.parquet", FRAME)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), FRAME)


def test_no_version_strings_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(path, FRAME)
    data = path.read_bytes()
    assert pq.ParquetFile(path).metadata.created_by == CREATED_BY
    for version in (pa.__version__, pd.__version__):
        assert version.encode() not in data
    assert b"pandas_version" not in data and b"creator" not in data


@pytest.mark.parametrize("other", ["parquet-cpp-arrow version 9.0.0", "parquet-cpp-arrow version 123.45.67"])
def test_a_file_from_another_pyarrow_version_normalizes_to_the_same_bytes(tmp_path: Path, other: str) -> None:
    path = tmp_path / "t.parquet"
    write_parquet(path, FRAME)
    ours = path.read_bytes()
    theirs = replace_created_by(ours, CREATED_BY, other)  # what that pyarrow would have stamped
    (tmp_path / "other.parquet").write_bytes(theirs)
    assert pq.ParquetFile(tmp_path / "other.parquet").metadata.created_by == other
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "other.parquet"), FRAME)
    assert replace_created_by(theirs, other) == ours


def test_rewrites_are_deterministic_and_refuse_non_parquet(tmp_path: Path) -> None:
    write_parquet(tmp_path / "a.parquet", FRAME)
    write_parquet(tmp_path / "b.parquet", FRAME)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    with pytest.raises(ValueError, match="not a Parquet file"):
        replace_created_by(b"org_id,year\n", "x")
    with pytest.raises(ValueError, match="not found exactly once"):
        replace_created_by((tmp_path / "a.parquet").read_bytes(), "no such writer")
