"""Publication tables: every family and format renders, LaTeX numbers equal the JSON, bytes are stable."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from reports.assemble import build_tables, report_tables, write_tables
from reports.collect import load_report_inputs, load_results, read_cleaning_log
from reports.descriptives import km_table, population_summary
from reports.regression import derived_table, model_tests_table, nesting_order, regression_table
from reports.render import latex_escape, to_csv_frame, to_html, to_latex, to_markdown
from reports.table_model import FORMATS, fmt, stars

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"
RESULTS = FIX / "results" / "default"
PROCESSED = FIX / "processed" / "default"
CLEAN = FIX / "interim" / "default" / "clean"


@pytest.fixture(scope="module")
def results() -> dict:
    return load_results(RESULTS)


@pytest.fixture(scope="module")
def all_results(results) -> list[dict]:
    return [r for models in results.values() for r in models.values()]


def test_fixture_covers_every_family(all_results):
    """The default fixture (real fits of the bundled data) has a result of every presented kind the
    default run produces, a model of every count and survival family, and a failed model with its reason."""
    from analysis.registry import kinds

    present = {r["kind"] for r in all_results}
    two_part = {"founding_zero_inflated"}  # default has no zero years: cow_igo's fixtures (test_two_part)
    assert {n for n, k in kinds().items() if k.presentation != "none"} - two_part <= present
    assert {"aalen_johansen"} <= present  # drawn only (presentation none)
    families = {r["family"] for r in all_results}
    assert {
        "poisson",
        "negative_binomial",
        "hurdle_nb",
        "binomial",
        "gaussian",
        "cox",
        "kaplan_meier",
        "aalen_johansen",
        "weibull proportional hazards",
        "gompertz proportional hazards",
        "loglogistic accelerated failure time",
        "gompertz-makeham proportional hazards",
    } <= families
    assert any(not r["fit"]["converged"] and r["fit"]["reason"] for r in all_results)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.2, ""),
        (0.05, ""),
        (0.0499, "*"),
        (0.01, "*"),
        (0.0099, "**"),
        (0.001, "**"),
        (0.00099, "***"),
        (None, ""),
        (math.nan, ""),
    ],
)
def test_stars_thresholds(p, expected):
    assert stars(p) == expected


def test_fmt_never_negative_zero_and_handles_missing():
    assert fmt(-0.0001, 3) == "0.000"
    assert fmt(-0.0006, 3) == "-0.001"
    assert fmt(None) == "" and fmt(math.nan) == "" and fmt(math.inf) == ""
    assert fmt(True) == "yes"


def _render_all(table) -> dict[str, str]:
    return {
        "tex": to_latex(table),
        "html": to_html(table),
        "md": to_markdown(table),
        "csv": to_csv_frame(table).to_csv(index=False),
    }


def test_every_family_renders_in_every_format(all_results):
    for res in all_results:
        tables = [regression_table([res], caption=res["model"])]
        if res["tests"]:
            tables.append(model_tests_table(res))
        if res["derived"]:
            tables.append(derived_table([res]))
        if "km" in res["curves"]:
            tables.append(km_table(res))
        for table in tables:
            out = _render_all(table)
            assert "\\begin{tabular" in out["tex"] and "\\bottomrule" in out["tex"]
            ET.fromstring(out["html"])  # well-formed
            assert out["md"].count("|") > 2
            assert set(out) == set(FORMATS) - {"docx"}  # docx: tests/unit/test_word.py
        if res["terms"]:
            tex = to_latex(tables[0])
            assert tex.count("\\\\") >= 2 * len(res["terms"])


# ---- parse LaTeX back and compare with the JSON -------------------------------------------------------


def _parse_latex(tex: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    body = tex.split("\\midrule", 1)[1].split("\\bottomrule")[0]
    header = tex.split("\\toprule", 1)[1].split("\\midrule", 1)[0]
    hdr_rows = [r.strip() for r in header.split("\\\\") if r.strip()]
    models = [c.strip().replace("\\_", "_") for c in hdr_rows[1].split("&")[1:]]
    rows = []
    for line in body.split("\n"):
        line = line.strip()
        if not line.endswith("\\\\"):
            continue
        cells = [c.strip() for c in line[:-2].split("&")]
        rows.append((cells[0], cells[1:]))
    return models, rows


def _num(cell: str) -> tuple[float, str]:
    star = re.search(r"\$\^\{(\**)\}\$", cell)
    text = re.sub(r"\$\^\{\**\}\$", "", cell).replace("$-$", "-").strip("()[] ")
    return float(text), star.group(1) if star else ""


def test_latex_numbers_equal_the_json(results):
    group = sorted(results["founding"].values(), key=nesting_order)
    tex = to_latex(regression_table(group))
    models, rows = _parse_latex(tex)
    assert models == [r["model"] for r in group]
    labels = [label for label, _ in rows]
    checked = 0
    for j, res in enumerate(group):
        for term in res["terms"]:
            if term["term"] == "alpha":  # NB dispersion: shown in the alpha block, checked below
                continue
            # the coefficient row is the one whose label is the term's label; SE row follows it
            idx = next(
                i for i, (lab, cells) in enumerate(rows) if lab and cells[j] and _matches(term["term"], lab)
            )
            coef, star = _num(rows[idx][1][j])
            se, _ = _num(rows[idx + 1][1][j])
            assert coef == pytest.approx(round(term["coef"], 3), abs=1e-12)
            assert se == pytest.approx(round(term["se"], 3), abs=1e-12)
            assert star == stars(term["p"])
            checked += 1
        if res["fit"].get("loglik") is not None:
            ll, _ = _num(rows[labels.index("Log-likelihood")][1][j])
            assert ll == pytest.approx(round(res["fit"]["loglik"], 2), abs=1e-12)
            aic, _ = _num(rows[labels.index("AIC")][1][j])
            assert aic == pytest.approx(round(res["fit"]["aic"], 2), abs=1e-12)
        n, _ = _num(rows[labels.index("N")][1][j])
        assert n == res["sample"]["n"]
        if "n_star" in res["derived"]:
            ns, _ = _num(rows[labels.index("Density at peak founding N*")][1][j])
            assert ns == pytest.approx(round(res["derived"]["n_star"]["estimate"], 1), abs=1e-12)
            ci = rows[labels.index("\\quad 95\\% CI (delta method)")][1][j].replace("$-$", "-").strip("[]")
            lo, hi = (float(x) for x in ci.split(","))
            assert lo == pytest.approx(round(res["derived"]["n_star"]["ci_low"], 1), abs=1e-12)
            assert hi == pytest.approx(round(res["derived"]["n_star"]["ci_high"], 1), abs=1e-12)
        if "alpha" in res["derived"]:
            a, _ = _num(rows[labels.index("$\\alpha$ (NB2 dispersion)")][1][j])
            assert a == pytest.approx(round(res["derived"]["alpha"]["estimate"], 3), abs=1e-12)
    assert checked == sum(len([t for t in r["terms"] if t["term"] != "alpha"]) for r in group) > 8


def _matches(term: str, latex_label: str) -> bool:
    from reports.labels import term_label

    return latex_escape(term_label(term, 100)) == latex_label


def test_lr_row_uses_the_recorded_test(results):
    group = sorted(results["founding"].values(), key=nesting_order)
    table = regression_table(group)
    lr = next(cells for label, cells, _ in table.rows if label.startswith("LR \u03c7"))
    for j, res in enumerate(group):
        recorded = [t for t in res["tests"] if j > 0 and t["name"] == f"LR vs {group[j - 1]['model']}"]
        if recorded:
            assert lr[j].text == fmt(recorded[0]["statistic"], 2)
            assert lr[j].stars == stars(recorded[0]["p"])
        else:
            assert lr[j].text == ""


def test_failed_model_keeps_its_column_and_reason(results):
    group = sorted(results["founding"].values(), key=nesting_order)
    table = regression_table(group)
    failed = [r for r in group if not r["fit"]["converged"]]
    assert failed and group[-1] is failed[0]  # failed models sort last
    conv = next(cells for label, cells, _ in table.rows if label == "Converged")
    assert conv[-1].text == "no"
    assert any(failed[0]["fit"]["reason"] in note for note in table.notes)


def test_notes_state_star_legend_and_se_types(results):
    group = sorted(results["founding"].values(), key=nesting_order)
    notes = " ".join(regression_table(group).notes)
    assert "* p < 0.05, ** p < 0.01, *** p < 0.001" in notes
    se_types = {r["fit"]["se_type"] for r in group if r["fit"]["converged"]}
    assert len(se_types) > 1 and all(se in notes for se in se_types)  # Poisson and NB2 each name theirs
    cox = results["survival"]["cox_full"]
    assert cox["fit"]["se_type"] in " ".join(regression_table([cox]).notes)


def test_density_label_carries_the_scale(results):
    table = regression_table([results["founding"]["poisson_density2"]])
    labels = [label for label, _, _ in table.rows]
    assert "Density (N/100)" in labels
    assert "Density\u00b2 (N/100)\u00b2" in labels


def test_csv_carries_full_precision(results, tmp_path):
    res = results["founding"]["poisson_density2"]
    table = regression_table([res])
    path = tmp_path / "t.csv"
    to_csv_frame(table).to_csv(path, index=False)
    back = pd.read_csv(path)
    for term in res["terms"]:
        row = back[(back["term"] == term["term"]) & (back["statistic"] == "coef")]
        assert float(row["value"].iloc[0]) == term["coef"]  # exact round trip


def test_latex_escapes_specials():
    table = regression_table([_synthetic("m_1")], labels={"x": "Share & 100% of $_#"})
    tex = to_latex(table)
    assert "Share \\& 100\\% of \\$\\_\\#" in tex
    assert "m\\_1" in tex
    assert latex_escape("p < 0.05, x > 1 | y") == "p \\textless{} 0.05, x \\textgreater{} 1 \\textbar{} y"


def _synthetic(model: str, **kw) -> dict:
    base = {
        "model": model,
        "family": "poisson",
        "kind": "founding_count",
        "specification": {},
        "sample": {"unit": "x", "n": 3},
        "fit": {"converged": True, "reason": None},
        "derived": {},
        "tests": [],
        "curves": {},
        "terms": [
            {"term": "x", "coef": -1.5, "se": None, "z": None, "p": None, "ci_low": None, "ci_high": None}
        ],
    }
    base.update(kw)
    return base


def test_hostile_inputs_render():
    for table in (
        regression_table([]),
        regression_table([_synthetic("a", terms=[])]),
        regression_table([_synthetic("a")]),
    ):
        out = _render_all(table)
        assert "\\end{tabular}" in out["tex"]
        ET.fromstring(out["html"])


def test_population_summary_sums_to_totals():
    pop = pd.read_parquet(PROCESSED / "population.parquet")
    summary = population_summary(pop, period=5)
    assert summary["Foundings"].sum() == pop["foundings"].sum()
    assert summary["Exits"].sum() == pop["exits"].sum()
    assert summary["N (1 Jan, first year)"].iloc[1] == pop["density"].iloc[5]
    assert len(summary) == math.ceil(len(pop) / 5)


def test_cleaning_log_reader_accepts_summary_and_row_logs(tmp_path):
    summary = read_cleaning_log(CLEAN)
    assert list(summary.columns) == ["rule", "table", "rows", "description"]
    recorded = json.loads((CLEAN / "cleaning_log.json").read_text(encoding="utf-8"))["rules"]
    assert summary.to_dict("records") == [{k: r[k] for k in summary.columns} for r in recorded]
    assert summary["rows"].sum() == sum(r["rows"] for r in recorded) > 0
    rows = [{"rule": "negative_size", "table": "panel", "action": "set missing"}] * 3 + [
        {"rule": "normalize_ids", "table": "organizations", "action": "folded"}
    ]
    (tmp_path / "cleaning_log.json").write_text(json.dumps(rows), encoding="utf-8")
    log = read_cleaning_log(tmp_path)
    assert log.to_dict("records") == [
        {"rule": "negative_size", "table": "panel", "rows": 3, "description": "set missing"},
        {"rule": "normalize_ids", "table": "organizations", "rows": 1, "description": "folded"},
    ]
    assert read_cleaning_log(tmp_path / "missing") is None


def test_build_tables_and_byte_identical_renders(tmp_path):
    first = report_tables(load_report_inputs(RESULTS, PROCESSED, CLEAN))
    write_tables(first, tmp_path / "a")
    write_tables(report_tables(load_report_inputs(RESULTS, PROCESSED, CLEAN)), tmp_path / "b")
    for stem in (
        "founding_poisson",
        "founding_nb",
        "survival_km",
        "survival_cox",
        "survival_cox_tests",
        "survival_cause_specific",
        "survival_age_pieces",
        "survival_parametric",
        "growth_gibrat",
        "growth_size_variance",
        "bottleneck_capacity",
        "bottleneck_exit_rate",
        "bottleneck_breaks",
        "bottleneck_stagnation",
        "population_by_period",
        "cleaning_log",
        "sample_construction",
    ):
        assert stem in first
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == len(FORMATS) * len(first)
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_tables_without_optional_inputs(results):
    tables = build_tables({"founding": results["founding"], "survival": {}, "growth": {}, "bottleneck": {}})
    assert set(tables) == {
        "founding_poisson",
        "founding_nb",
        "founding_hurdle_nb",  # the failed hurdle model keeps its own table
        "sample_construction",
    }


def test_alpha_block_reads_the_recorded_boundary_test(results):
    nb = results["founding"]["nb_density2"]
    table = regression_table([nb])
    labels = [label for label, _, _ in table.rows]
    assert "alpha" not in labels and "\u03b1 (NB2 dispersion)" in labels
    boundary = next(t for t in nb["tests"] if t["name"].startswith("LR alpha=0"))
    row = next(cells for label, cells, _ in table.rows if label.startswith("LR test \u03b1 = 0"))
    assert row[0].text == fmt(boundary["statistic"], 2) and row[0].stars == stars(boundary["p"])


def test_hidden_fixed_effects_get_one_row(results):
    res = json.loads(json.dumps(results["founding"]["poisson_density2"]))
    res["terms"].append(
        {
            "term": "fe[district=b]",
            "coef": 0.1,
            "se": 0.05,
            "z": 2.0,
            "p": 0.04,
            "ci_low": 0.0,
            "ci_high": 0.2,
        }
    )
    res["specification"]["fixed_effects"] = {
        "variable": "district",
        "terms": ["fe[district=b]"],
        "display": False,
    }
    table = regression_table([res])
    labels = [label for label, _, _ in table.rows]
    assert not any("fe[" in lab for lab in labels)
    fe = next(cells for label, cells, _ in table.rows if label == "Subpopulation fixed effects")
    assert fe[0].text == "yes"


def test_km_per_group_curves_equal_long_curve(results):
    split = results["survival"]["km_district"]  # the fitter writes one km_<group> curve per group
    groups = [k.removeprefix("km_") for k in split["curves"]]
    assert len(groups) > 1 and all(k.startswith("km_") for k in split["curves"])
    long = json.loads(json.dumps(split))
    rows = [
        {"group": g, **dict(zip(curve, vals, strict=True))}
        for g, curve in zip(groups, split["curves"].values(), strict=True)
        for vals in zip(*curve.values(), strict=True)
    ]
    long["curves"] = {"km": pd.DataFrame(rows).to_dict("list")}
    assert to_latex(km_table(long)) == to_latex(km_table(split))
    assert "survival_km" in build_tables({"survival": {"km_district": long}})


def _founding_family(model: str, family: str) -> dict:
    return {
        "model": model,
        "family": family,
        "kind": "founding_count",
        "specification": {"density_scale": 100},
        "fit": {"converged": True, "loglik": -10.0, "aic": 24.0, "se_type": "observed"},
        "sample": {"n": 30, "events": 100, "unit": "population-year"},
        "terms": [
            {"term": "density", "coef": 0.1, "se": 0.05, "z": 2.0, "p": 0.04, "ci_low": 0.0, "ci_high": 0.2}
        ],
        "derived": {},
        "tests": [],
        "curves": {},
    }


def test_founding_sequences_split_by_level_and_family_with_at_most_five_columns():
    models = {f"nb_m{i}": _founding_family(f"nb_m{i}", "negative_binomial") for i in range(7)}
    models |= {f"poisson_m{i}": _founding_family(f"poisson_m{i}", "poisson") for i in range(2)}
    models |= {
        f"panel_type_nb_m{i}": _founding_family(f"panel_type_nb_m{i}", "negative_binomial") for i in range(2)
    }
    tables = build_tables({"founding": models})
    assert [s for s in tables if s.startswith("founding")] == [
        "founding_poisson",
        "founding_nb",
        "founding_nb_2",
        "founding_panel_type_nb",
    ]
    assert tables["founding_nb"].ncols - 1 == 5 and tables["founding_nb_2"].ncols - 1 == 2
    assert tables["founding_nb"].header[1][1:] == ["m0", "m1", "m2", "m3", "m4"]  # shared prefix dropped
    assert tables["founding_nb_2"].header[1][1:] == ["m5", "m6"]
    assert "continued" in tables["founding_nb_2"].caption
    assert "type" in tables["founding_panel_type_nb"].caption


def test_bottleneck_tables_from_pipeline_shapes(results):
    tables = build_tables({"bottleneck": results["bottleneck"]})
    breaks = tables["bottleneck_breaks"]
    brk = results["bottleneck"]["break_founding_log1p"]["derived"]
    row = next(cells for label, cells, _ in breaks.rows if label.startswith("Foundings"))
    assert row[0].text == str(brk["break_year"]) and row[1].text == fmt(brk["sup_f"], 2)
    assert row[3].text == fmt(brk["critical_values"]["0.05"], 2)
    cap = tables["bottleneck_capacity"]
    eq = results["bottleneck"]["equilibrium_density"]["derived"]["equilibrium"]
    eq_row = next(cells for label, cells, _ in cap.rows if label.startswith("Equilibrium"))
    assert eq_row[0].text == fmt(eq["estimate"], 1)
    stag = tables["bottleneck_stagnation"]
    assert stag.header[1][1:] == ["Stagnation", "Dissolution"]
    exit_rate = tables["bottleneck_exit_rate"]
    labels = [label for label, _, _ in exit_rate.rows]
    assert "Density at extreme exit rate" in labels and "Density at peak founding N*" not in labels
    lr = next(cells for label, cells, _ in exit_rate.rows if label.startswith("LR \u03c7"))
    assert lr[1].text and lr[2].text  # "LR vs nb_density" recorded without the exit_rate_ prefix
    growth = results["bottleneck"]["break_density_growth"]["derived"]
    row = next(cells for label, cells, _ in breaks.rows if label.startswith("Density"))
    assert row[0].text == str(growth["break_year"]) and row[1].text == fmt(growth["sup_f"], 2)


def test_data_quality_table_marks_secondary_rows():
    china = load_results(FIX / "results" / "china")
    tables = build_tables(china)
    quality = tables["bottleneck_data_quality"]
    curve = pd.DataFrame(china["bottleneck"]["logistic_density"]["curves"]["logistic"])
    used = curve[curve["used"]]
    assert [label for label, _, _ in quality.rows] == [str(y) for y in used["year"]]
    marked = {label for label, cells, _ in quality.rows if cells[-1].text}
    assert {"2009", "2011", "2017"} <= marked and "2006" not in marked
    assert "\\dag" in to_latex(quality)
