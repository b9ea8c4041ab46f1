"""Weak estimates reach the tables, the section text and the discussion; user text is escaped in Markdown."""

from __future__ import annotations

import json

from analysis.assess import assess
from reports.collect import load_results, not_applicable_reasons
from reports.discussion import discussion_text
from reports.model_tables import capacity_table
from reports.regression import regression_table
from reports.render import md_escape, to_markdown


def _discussion(results_dir):
    """The discussion of the results written under ``results_dir`` (dataset "toy")."""
    return discussion_text("toy", load_results(results_dir), not_applicable_reasons(results_dir))


def _term(name, coef, se, p):
    return {
        "term": name,
        "coef": coef,
        "se": se,
        "z": coef / se,
        "p": p,
        "ci_low": coef - 1.96 * se,
        "ci_high": coef + 1.96 * se,
    }


def _founding(model, n, shape="inverted U", inside=True):
    res = {
        "dataset": "toy",
        "stage": "fit_founding",
        "model": model,
        "family": "negative_binomial",
        "method": "ML",
        "kind": "founding_count",
        "specification": {"density_scale": 1},
        "sample": {"unit": "population-year", "n": n},
        "fit": {"converged": True, "reason": None, "se_type": "observed information"},
        "terms": [
            _term("const", 1.0, 0.1, 1e-9),
            _term("density", 0.5, 0.1, 1e-6),
            _term("density_sq", -0.1, 0.01, 1e-6),
            _term("alpha", 0.2, 0.05, 1e-4),
        ],
        "derived": {
            "n_star": {
                "estimate": 250.0,
                "ci_low": 200.0,
                "ci_high": 300.0,
                "inside_range": inside,
                "observed_range": [10.0, 400.0],
                "shape": shape,
            }
        },
        "tests": [],
        "curves": {},
        "notes": [],
        "inputs": {},
        "schema_version": 1,
    }
    res["assessment"] = assess(res)
    return res


def test_a_weak_column_has_no_stars_a_marker_row_and_a_note():
    strong, weak = _founding("nb_long", 35), _founding("nb_short", 10)
    assert not strong["assessment"]["weak"] and weak["assessment"]["weak"]
    table = regression_table([strong, weak])
    coef_row = next(cells for label, cells, kind in table.rows if kind == "coef")
    assert coef_row[0].stars == "***" and coef_row[1].stars == ""
    marker = next(cells for label, cells, kind in table.rows if label.startswith("Weak estimate"))
    assert [c.text for c in marker] == ["", "yes"]
    assert any(
        n.startswith("(2) nb_short: weak estimate, no significance stars") and "10 observations" in n
        for n in table.notes
    )


def test_a_u_shaped_founding_curve_is_a_minimum_not_a_peak():
    labels = [label for label, _, _ in regression_table([_founding("nb", 35, shape="U")]).rows]
    assert "Density at minimum founding N*" in labels and "Density at peak founding N*" not in labels
    labels = [label for label, _, _ in regression_table([_founding("nb", 35)]).rows]
    assert "Density at peak founding N*" in labels
    mixed = regression_table([_founding("a", 35), _founding("b", 35, shape="U")])
    assert any(label.startswith("Density at turning point N*") for label, _, _ in mixed.rows)


def test_n_star_outside_the_observed_range_is_flagged_in_the_notes():
    table = regression_table([_founding("nb", 35, inside=False)])
    assert any("lies outside the observed density range [10, 400]" in n for n in table.notes)


def test_a_carrying_capacity_below_the_observed_densities_is_flagged():
    k = {**_term("K", 1000.0, 300.0, 0.01), "ci_low": 642.0, "ci_high": 22_177.0}
    lg = {
        "model": "logistic_density",
        "stage": "fit_bottleneck",
        "family": "gaussian",
        "sample": {"n": 35},
        "fit": {"converged": True, "reason": None, "se_type": "nls"},
        "terms": [k, _term("r", 0.1, 0.01, 0.01), _term("t0", 2000.0, 1.0, 0.01)],
        "derived": {"max_observed": 1442.0},
    }
    lg["assessment"] = assess(lg)
    notes = capacity_table(lg, None).notes
    assert any("K = 1000 is below the highest observed density (1442)" in n for n in notes)


def test_the_discussion_does_not_state_a_weak_founding_model_as_a_finding(tmp_path):
    (tmp_path / "founding").mkdir()
    weak = _founding("nb_density2", 10)
    (tmp_path / "founding" / "nb_density2.json").write_text(json.dumps(weak), encoding="utf-8")
    text = _discussion(tmp_path)
    assert "too weakly identified to read its density terms as evidence" in text
    assert "inverted U" not in text and "peaks at" not in text
    strong = _founding("nb_density2", 35)
    (tmp_path / "founding" / "nb_density2.json").write_text(json.dumps(strong), encoding="utf-8")
    assert "an inverted U" in _discussion(tmp_path)


def test_markdown_tables_escape_user_text():
    assert md_escape("a|b *x* _y_ <b>&\n# [l] `c` ~s~") == (
        "a\\|b \\*x\\* \\_y\\_ &lt;b&gt;&amp; \\# \\[l\\] \\`c\\` \\~s\\~"
    )
    table = regression_table([_founding("nb|<script>", 35)])
    md = to_markdown(table)
    assert "<script>" not in md and "nb\\|&lt;script&gt;" in md
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    cells = {line.count("|") - line.count("\\|") for line in rows}
    assert len(rows) > 3 and cells == {3}


def test_the_profile_interval_of_n_star_is_shown_and_unbounded_sides_say_so():
    res = _founding("nb", 35)
    res["derived"]["n_star"]["profile"] = {"ci_low": 190.0, "ci_high": None}
    table = regression_table([res])
    row = next(cells for label, cells, _ in table.rows if label.strip() == "95% CI (profile likelihood)")
    assert row[0].text == "190.0, \u221e"
    assert any("profile likelihood" in n for n in table.notes)
    assert "95% CI (profile likelihood)" not in [
        label.strip() for label, _, _ in regression_table([_founding("a", 35)]).rows
    ]


def test_an_unbounded_profile_interval_of_k_is_shown_and_flagged():
    k = {**_term("K", 664.0, 60.0, 0.01)}
    lg = {
        "model": "logistic_density",
        "stage": "fit_bottleneck",
        "family": "gaussian",
        "sample": {"n": 21},
        "fit": {"converged": True, "reason": None, "se_type": "nls"},
        "terms": [k, _term("r", 0.3, 0.01, 0.01), _term("t0", 2005.0, 1.0, 0.01)],
        "derived": {"max_observed": 399.0, "K_profile": {"ci_low": 433.4, "ci_high": None}},
    }
    lg["assessment"] = assess(lg)
    assert (
        "the profile interval of K is unbounded above: the carrying capacity is not identified"
        in (lg["assessment"]["flags"])
    )
    table = capacity_table(lg, None)
    row = next(cells for label, cells, _ in table.rows if label.strip() == "K: 95% CI (profile t)")
    assert row[2].text == "433.4, \u221e"
    assert any("unbounded above" in n for n in table.notes)


def test_the_profile_interval_of_alpha_is_shown():
    res = _founding("nb", 35)
    res["derived"]["alpha"] = {"estimate": 0.2, "se": 0.05, "profile": {"ci_low": 0.0, "ci_high": 0.31}}
    row = next(
        cells
        for label, cells, _ in regression_table([res]).rows
        if "profile likelihood" in label and "\u03b1" in label
    )
    assert row[0].text == "0.000, 0.310"


def test_the_discussion_reads_cause_specific_hazards_and_names_weak_ones(tmp_path):
    (tmp_path / "survival").mkdir()
    for model, cause, events in (("cox_cause_death", "death", 130), ("cox_cause_k2", "competing:合并", 25)):
        res = _founding(model, 35)
        res.update(
            stage="fit_survival",
            family="cox",
            kind="cox_cause",
            specification={"cause": cause, "cause_label": cause.removeprefix("competing:")},
            sample={"unit": "spell", "n": 5000, "events": events},
        )
        res["assessment"] = assess(res)
        (tmp_path / "survival" / f"{model}.json").write_text(json.dumps(res), encoding="utf-8")
    text = _discussion(tmp_path)
    assert "Exits by kind in the cause-specific Cox models (complete cases): death 130, 合并 25." in text
    assert "For death the density terms are 0.5 (p " in text and "For 合并" not in text
    assert "The hazards of 合并 (25 events) have too few events" in text


def test_a_literature_value_given_in_params_replaces_the_bundled_cow_paragraph(tmp_path):
    (tmp_path / "founding").mkdir()
    strong = _founding("nb_density2", 35)
    (tmp_path / "founding" / "nb_density2.json").write_text(json.dumps(strong), encoding="utf-8")
    loaded = (load_results(tmp_path), not_applicable_reasons(tmp_path))
    default = discussion_text("cow_igo", *loaded)
    assert "Ingram & Torfason" in default and "an inverted U" in default
    given = discussion_text("cow_igo", *loaded, "Own reading: Smith (2024).")
    assert given.startswith("Own reading: Smith (2024).") and "an inverted U" in given
    assert "Ingram & Torfason" not in given and "that literature leads one to expect" not in given
