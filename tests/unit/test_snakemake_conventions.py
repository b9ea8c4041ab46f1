"""Snakemake conventions: `snakemake --lint` is clean, every rule has a benchmark file under the untracked
logs/ and names the locked environment, and the report captions render for every figure, document and
plot file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from pipeline.core import paths as P
from pipeline.stages.registry import CROSS_STAGES, ENVIRONMENT, STAGES
from reports import plot_data

ROOT = Path(__file__).resolve().parents[2]
RULES = {s.name for s in STAGES} | {c.name for c in CROSS_STAGES}


def _snakemake(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_snakemake_lint_is_clean():
    out = _snakemake("--lint")
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "Lints for" not in text, text[-3000:]


def test_every_job_has_a_benchmark_under_logs():
    out = _snakemake("--dry-run", "--forceall")
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = re.split(r"\n(?=(?:local)?rule \w+:)", out.stdout)
    seen = set()
    for block in jobs:
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not m or m.group(1) == "all":
            continue
        rule = m.group(1)
        bench = re.search(r"^\s+benchmark: (\S+)$", block, re.M)
        assert bench, f"rule {rule} has no benchmark"
        assert bench.group(1).startswith(f"logs/benchmarks/{rule}/"), bench.group(1)
        seen.add(rule)
    assert seen == RULES


def test_benchmark_files_are_not_tracked():
    paths = [s.benchmark.format(dataset="default") for s in STAGES] + [c.benchmark for c in CROSS_STAGES]
    out = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert sorted(out.stdout.split()) == sorted(paths)


def test_every_rule_names_the_locked_environment():
    text = (ROOT / "Snakefile").read_text(encoding="utf-8")
    assert (ROOT / ENVIRONMENT).is_file()
    # both rule loops (per dataset and across datasets) declare it
    assert text.count("conda:\n            ENVIRONMENT") == 2


def _render(caption: str, **wildcards: str) -> str:
    text = (ROOT / caption).read_text(encoding="utf-8")
    return (
        jinja2.Environment()
        .from_string(text)
        .render(snakemake=SimpleNamespace(wildcards=SimpleNamespace(**wildcards)))
    )


def _report(out: str):
    return next(r for s in (*STAGES, *CROSS_STAGES) for r in s.report if r.out == out)


def test_report_flags_outputs_of_their_stage_with_existing_captions():
    flagged = [(s, r) for s in (*STAGES, *CROSS_STAGES) for r in s.report]
    assert {r.out for _, r in flagged} == {P.REPORT, P.PLOT_DATA, P.REPORT_INDEX}
    for stage, r in flagged:
        assert r.out in stage.outs
        assert (ROOT / r.caption).is_file()
    assert (ROOT / "reports/snakemake/workflow.rst").is_file()


#: Figure stems build_figures draws (reports/figures.py), one of each kind.
FIGURE_STEMS = {
    "population": "foundings and exits",
    "founding_multiplier": "observed density range",
    "founding_multiplier_panel_district": "subpopulation panel",
    "survival_km_district": "Kaplan",
    "survival_hazard_piecewise_exponential": "age piece",
    "survival_cif": "Aalen",
    "growth_vs_size": "Gibrat",
    "bottleneck_logistic": "Carrying capacity",
    "bottleneck_supf_break_density_growth": "Sup-F",
    "bottleneck_cif": "stagnation",
}


@pytest.mark.parametrize("stem", sorted(FIGURE_STEMS))
def test_every_figure_gets_its_own_caption(stem):
    text = _render(_report(P.REPORT).caption, dataset="default", figure=stem)
    assert FIGURE_STEMS[stem] in text and "A figure of the report." not in text


def test_bundled_figures_are_among_the_captioned_kinds():
    pngs = sorted(ROOT.glob("reports/out/*/figures/*.png"))
    if not pngs:
        pytest.skip("no rendered reports in this checkout")
    for png in pngs:
        assert "A figure of the report." not in _render(
            _report(P.REPORT).caption, dataset="d", figure=png.stem
        )


@pytest.mark.parametrize("document", ["pdf", "html", "docx"])
def test_reports_are_captioned(document):
    text = _render(_report(P.REPORT).caption, dataset="default", document=document)
    assert f"as {document.upper()}" in text


@pytest.mark.parametrize("plot", [p.name for p in plot_data.PLOTS])
def test_plot_data_is_captioned(plot):
    text = _render(_report(P.PLOT_DATA).caption, dataset="default", plot=plot)
    assert "a key curve" not in text and f"plots/default/{plot}.csv" in text
