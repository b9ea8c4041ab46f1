"""Benchmark: parsing one million raw date cells with :func:`pipeline.data.dates.parse_dates`.

Three workloads, each 1,000,000 cells: (a) ISO day dates over 60 years (≈22k distinct values), (b) a mix of
every accepted string form with 10% missing, (c) one million distinct Excel serial numbers as floats.
Then, end to end, a 1,000,000-row register CSV with the mixed date forms written to a temporary folder,
read with :func:`pipeline.data.read.read_table` and validated with :func:`pipeline.data.validate.validate_organizations`.
Run: ``.venv/bin/python benchmarks/bench_dates.py`` (prints seconds per workload; no asserts).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.data.dates import parse_dates
from pipeline.data.read import read_table
from pipeline.data.validate import validate_organizations

N = 1_000_000


def _workloads(rng: np.random.Generator) -> dict[str, pd.Series]:
    days = pd.Timestamp("1960-01-01") + pd.to_timedelta(rng.integers(0, 60 * 365, N), unit="D")
    iso = pd.Series(days.strftime("%Y-%m-%d"))
    y, m, d = days.year.astype(str), days.month.astype(str), days.day.astype(str)
    forms = [
        iso,
        pd.Series(y + "/" + m + "/" + d),
        pd.Series(y + "." + m + "." + d),
        pd.Series(y + "-" + days.strftime("%m")),
        pd.Series(y),
        pd.Series(y + ".0"),
        pd.Series(y + "年" + m + "月" + d + "日"),
        pd.Series(y + "年" + m + "月"),
    ]
    pick = rng.integers(0, len(forms), N)
    mixed = pd.Series(np.choose(pick, [f.to_numpy(dtype=object) for f in forms]), dtype=object)
    mixed[rng.random(N) < 0.1] = None
    serials = pd.Series(rng.uniform(20000, 50000, N))
    return {"iso_day": iso, "mixed_forms": mixed, "excel_serial_floats": serials}


def main() -> None:
    rng = np.random.default_rng(20261126)
    for name, values in _workloads(rng).items():
        t0 = time.perf_counter()
        out = parse_dates(values, rule="midpoint")
        dt = time.perf_counter() - t0
        print(
            f"{name:22s} n={len(values):,} distinct={values.nunique():,}  {dt:6.2f} s  "
            f"({out['precision'].value_counts().to_dict()})"
        )

    mixed = _workloads(rng)["mixed_forms"]
    register = pd.DataFrame({"org_id": [f"o{i:07d}" for i in range(N)], "founded": mixed, "district": "d1"})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "register.csv"
        register.to_csv(path, index=False)
        t0 = time.perf_counter()
        raw = read_table(path)
        t1 = time.perf_counter()
        out, warnings = validate_organizations(
            raw, file=str(path), columns={"org_id": "org_id", "founded": "founded"}, attributes=["district"]
        )
        t2 = time.perf_counter()
    print(
        f"register csv n={len(out):,}: read {t1 - t0:.2f} s, validate {t2 - t1:.2f} s ({len(warnings):,} warnings)"
    )


if __name__ == "__main__":
    main()
