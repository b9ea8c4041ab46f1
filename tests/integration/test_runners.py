"""End to end: Snakemake and DVC run the same stages on a temporary copy of the repository and produce
byte-identical outputs; a second run with nothing changed runs nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns(
    ".venv",
    ".git",
    ".snakemake",
    "interim",
    "processed",
    "results",
    "out",
    "logs",
    "cache",
    "tmp",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "*.egg-info",
    ".ruff_cache",
    ".benchmarks",
)
OUTPUT_DIRS = ("data/interim", "data/processed", "results", "reports/out", "plots", "metrics")
#: Runner bookkeeping, not outputs: Snakemake's directory timestamps, DVC's .gitignore entries.
RUNNER_FILES = {".snakemake_timestamp", ".gitignore"}
#: Datasets run end to end here: the bundled default (organization data) and a population series.
DATASETS = ("default", "us_commercial_banks")

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def _copy(tmp: Path, name: str) -> Path:
    dst = tmp / name
    shutil.copytree(ROOT, dst, ignore=IGNORE)
    params = yaml.safe_load((dst / "params.yaml").read_text(encoding="utf-8"))
    params["datasets"] = {k: v for k, v in params["datasets"].items() if k in DATASETS}
    titles = params["render_report"].get("titles", {})
    params["render_report"]["titles"] = {k: v for k, v in titles.items() if k in DATASETS}
    (dst / "params.yaml").write_text(
        yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    dvc_yaml = _run([sys.executable, "-m", "pipeline", "dvc-yaml"], dst).stdout
    (dst / "dvc.yaml").write_text(dvc_yaml, encoding="utf-8")
    (dst / "dvc.lock").unlink(missing_ok=True)
    _run(["git", "init", "-q"], dst)
    return dst


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for top in OUTPUT_DIRS:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and path.suffix != ".pdf" and path.name not in RUNNER_FILES:
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    smk = _copy(tmp, "snakemake_copy")
    dvc = _copy(tmp, "dvc_copy")
    _run([sys.executable, "-m", "snakemake", "--cores", "2"], smk)
    _run([sys.executable, "-m", "dvc", "repro"], dvc)
    return smk, dvc


def test_both_runners_produce_identical_outputs(runs):
    smk, dvc = runs
    a, b = _digests(smk), _digests(dvc)
    assert a, "no outputs were produced"
    for ds in DATASETS:
        assert any(k.startswith(f"data/processed/{ds}/") for k in a), f"no event histories for {ds}"
    assert a.keys() == b.keys()
    differing = [k for k in a if a[k] != b[k]]
    assert not differing, f"outputs differ between Snakemake and DVC: {differing}"


def test_every_result_file_follows_the_schema(runs):
    from analysis.results import read_result

    smk, _ = runs
    files = sorted((smk / "results").rglob("*.json"))
    assert files
    for path in files:
        read_result(path)  # raises on a schema violation


def test_snakemake_rerun_does_nothing(runs):
    smk, _ = runs
    out = _run([sys.executable, "-m", "snakemake", "--cores", "2", "--dry-run"], smk)
    assert "Nothing to be done" in out.stdout + out.stderr


def test_dvc_rerun_does_nothing(runs):
    _, dvc = runs
    status = _run([sys.executable, "-m", "dvc", "status"], dvc)
    assert "up to date" in status.stdout.lower()
    again = _run([sys.executable, "-m", "dvc", "repro"], dvc)
    assert "Running stage" not in again.stdout


def test_snakemake_report_shows_figures_reports_and_plot_data_with_captions(runs):
    smk, _ = runs
    _run([sys.executable, "-m", "snakemake", "--report", "report.html"], smk)
    html = (smk / "report.html").read_text(encoding="utf-8")
    for ds in DATASETS:
        assert f"plots/{ds}/population.csv" in html
    for caption in ("as PDF", "as HTML", "of the headline founding model over the observed density range"):
        assert caption in html
    assert "A figure of the report." not in html


def test_every_snakemake_job_wrote_its_benchmark(runs):
    from pipeline.stages.registry import CROSS_STAGES, STAGES

    smk, _ = runs
    expected = {s.benchmark.format(dataset=ds) for s in STAGES for ds in DATASETS}
    expected |= {c.benchmark for c in CROSS_STAGES}
    found = {str(p.relative_to(smk)) for p in (smk / "logs/benchmarks").rglob("*.tsv")}
    assert found == expected
    for path in expected:
        header = (smk / path).read_text(encoding="utf-8").splitlines()[0]
        assert header.startswith("s\th:m:s\tmax_rss")


def test_dvc_plots_and_metrics_show_the_key_curves_and_numbers(runs):
    from reports.key_metrics import KEYS
    from reports.plot_data import plots_for

    _, dvc = runs
    plots = json.loads(_run([sys.executable, "-m", "dvc", "plots", "show", "--json"], dvc).stdout)["data"]
    kinds = {"default": "organizations", "us_commercial_banks": "population"}
    assert set(plots) == {f"{ds}/{p.name}" for ds, kind in kinds.items() for p in plots_for(kind)}
    for pid, rendered in plots.items():
        assert rendered and rendered[0]["content"]["data"]["values"], f"plot {pid} has no data"
    metrics = json.loads(_run([sys.executable, "-m", "dvc", "metrics", "show", "--json"], dvc).stdout)
    ((_, found),) = metrics.items()
    expected = {s: set(k) for s, k in KEYS.items()}
    for ds in DATASETS:
        on_disk = json.loads((dvc / f"metrics/{ds}.json").read_text(encoding="utf-8"))
        assert {s: set(v) for s, v in on_disk.items()} == expected
        shown = found["data"][f"metrics/{ds}.json"]["data"]  # DVC leaves out the null values
        assert all(set(v) <= expected[s] for s, v in shown.items())
        assert all(shown[s][k] == v for s, keys in on_disk.items() for k, v in keys.items() if v is not None)
    # organization data has every headline number
    assert {s: set(v) for s, v in found["data"]["metrics/default.json"]["data"].items()} == expected


def test_bad_input_stops_with_clear_error_and_no_partial_output(tmp_path):
    dst = _copy(tmp_path, "bad_copy")
    reg = dst / "data/raw/default/organizations.csv"
    lines = reg.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("founded")] = "not-a-date"
    lines[1] = ",".join(row)
    reg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "validate_inputs", "--dataset", "default"],
        cwd=dst,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "not-a-date" in proc.stderr and "founded" in proc.stderr and "row 2" in proc.stderr.lower()
    assert not (dst / "data/interim/default/validated").exists()
    assert (
        not list((dst / "data/interim/default").glob(".*tmp"))
        if (dst / "data/interim/default").exists()
        else True
    )


def test_verify_passes_on_a_fresh_run_and_fails_on_tampering(runs):
    smk, _ = runs
    cmd = [
        sys.executable,
        "-m",
        "pipeline",
        "verify",
        "--reference",
        str(ROOT / "reference" / "results"),
        "--results",
        "results",
    ] + [arg for ds in DATASETS for arg in ("--dataset", ds)]
    ok = subprocess.run(cmd, cwd=smk, env=_env(), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    assert " 0 failed" in ok.stdout
    target = smk / "results" / "default" / "founding" / "nb_density2.json"
    obj = json.loads(target.read_text(encoding="utf-8"))
    obj["terms"][1]["coef"] *= 1.001
    target.write_text(json.dumps(obj), encoding="utf-8")
    bad = subprocess.run(cmd, cwd=smk, env=_env(), capture_output=True, text=True)
    assert bad.returncode == 1 and "FAIL" in bad.stdout


# ------------------------------------------------------------- the report renders what the real fitters wrote


def _real_tables(root: Path, ds: str):
    from reports.assemble import report_tables
    from reports.collect import load_report_inputs

    inputs = load_report_inputs(
        root / "results" / ds, root / "data" / "processed" / ds, root / "data" / "interim" / ds / "clean"
    )
    return inputs.results, report_tables(inputs)


def _shown(tables) -> set[str]:
    """Model names whose numbers some table of the report shows (its recorded sources)."""
    return {m for table in tables.values() for m in table.sources}


@pytest.mark.parametrize("ds", DATASETS)
def test_every_real_result_reaches_a_table(runs, ds):
    """Nothing the fitters estimated is silently left out of the report's tables (results produced by the real
    stages, not a hand-made fixture: a renamed result key or model fails here). Results of kinds presented
    by figures only (Aalen-Johansen, predictions) must be drawn instead."""
    from analysis.registry import kind_of
    from reports.figure_plan import plan_figures

    smk, _ = runs
    results, tables = _real_tables(smk, ds)
    shown = _shown(tables)
    drawn = {
        a["model"] for p in plan_figures(results) for a in p.args if isinstance(a, dict) and "model" in a
    }
    missing = [
        f"{area}/{name}"
        for area, models in results.items()
        for name, res in models.items()
        if res["model"] != "not_applicable"
        and (res.get("terms") or res["family"] in ("kaplan_meier", "derived"))
        and res["model"] not in (drawn if kind_of(res).presentation == "none" else shown)
    ]
    assert not missing, f"results of {ds} not shown in any table or figure: {missing}"


@pytest.mark.parametrize("ds", DATASETS)
def test_real_headline_quantities_reach_the_tables(runs, ds):
    """Turning points, dispersion and weak-estimate notes of the real results appear in the tables with
    their recorded values."""
    smk, _ = runs
    results, tables = _real_tables(smk, ds)
    long = pd.concat([t.data for t in tables.values() if t.data is not None and "model" in t.data])
    notes = " ".join(n for t in tables.values() for n in t.notes)
    checked = 0
    for models in results.values():
        for res in models.values():
            ns = (res.get("derived") or {}).get("n_star") or {}
            if ns.get("estimate") is not None:
                got = long[
                    (long["model"] == res["model"])
                    & (long["row"] == "N*")
                    & (long["statistic"] == "estimate")
                ]
                assert got["value"].tolist() == [ns["estimate"]], res["model"]
                checked += 1
            alpha = (res.get("derived") or {}).get("alpha") or {}
            if alpha.get("estimate") is not None:
                got = long[(long["model"] == res["model"]) & (long["row"] == "alpha")]
                assert alpha["estimate"] in got["value"].tolist(), res["model"]
                checked += 1
            if (res.get("assessment") or {}).get("weak"):
                assert f"{res['model']}: weak estimate" in notes, res["model"]
                checked += 1
    assert checked > 0
