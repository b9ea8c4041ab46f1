"""params.yaml loading: schema validation with defaults and clear errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pipeline.core.params import ParamsError, load_params, stage_params, validate_params
from tests.unit.params_builders import organization_params, params_problem

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_params_load_with_defaults():
    params = load_params(ROOT / "params.yaml")
    assert set(params["datasets"]) >= {
        "default",
        "cow_igo",
        "us_commercial_banks",
        "china_social_organizations",
    }
    assert params["datasets"]["default"]["strict"] is False
    assert params["datasets"]["cow_igo"]["organizations"]["sheet"] is None
    assert params["build_histories"]["vanished"]["grace_years"] == 2


def _minimal():
    return {
        "datasets": {
            "x": {
                "kind": "population",
                "window": {"start": 2000, "end": 2010},
                "population": {"path": "data/raw/x/a.csv", "columns": {"year": "y", "density": "n"}},
            }
        }
    }


def test_defaults_are_filled_in_nested_blocks():
    params = validate_params(_minimal())
    assert params["datasets"]["x"]["population"]["density_timing"] == "start_of_year"
    assert params["clean_inputs"]["negative_size"] == "set_missing"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["datasets"]["x"].pop("window"), "window"),
        (lambda p: p["datasets"]["x"].update(kind="firms"), "kind"),
        (lambda p: p["datasets"]["x"]["population"]["columns"].pop("density"), "density"),
        (lambda p: p["datasets"]["x"].update(date_rule="middle"), "date_rule"),
        (lambda p: p["datasets"]["x"]["population"].update(path="elsewhere/a.csv"), "data/raw/x"),
        (lambda p: p["datasets"]["x"].update(window={"start": 2010, "end": 2000}), "ends"),
    ],
)
def test_bad_params_give_clear_errors(mutate, message):
    params = _minimal()
    mutate(params)
    with pytest.raises(ParamsError, match=message):
        validate_params(params)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "p.yaml"
    bad.write_text("datasets: [unclosed", encoding="utf-8")
    with pytest.raises(ParamsError, match="YAML"):
        load_params(bad)


def _org_minimal():
    return organization_params()


def _problem(params: dict) -> str:
    return params_problem(params)


def test_organization_minimal_params_resolve():
    params = validate_params(_org_minimal())
    from analysis.formula.survival import survival_step_texts

    # without steps, the legacy default sequence (controls log_size, funding_share; clustered by organization)
    assert survival_step_texts(stage_params(params, "fit_survival", "o"))[0] == (
        "controls",
        "Surv(start, stop, event) ~ log_size + funding_share + cluster(org_id)",
    )


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        # keys: the schema refuses unknown keys everywhere, naming the nearest valid one
        (lambda p: p.update(fit_foundng={}), ["fit_foundng", "fit_founding"]),
        (lambda p: p["datasets"]["o"].update(model={}), ["datasets.o", "'model'", "models"]),
        (
            lambda p: p["datasets"]["o"].update(models={"fit_founding": {"familes": ["poisson"]}}),
            ["datasets.o.models.fit_founding", "familes", "families"],
        ),
        (lambda p: p["datasets"]["o"].update(models={"fit_foundng": {}}), ["fit_foundng", "fit_founding"]),
        (
            lambda p: p["datasets"]["o"]["panel"].update(measure={}),
            ["datasets.o.panel", "measure", "measures"],
        ),
        (lambda p: p.update(fit_founding={"families": ["ols"]}), ["fit_founding.families", "ols", "poisson"]),
        (lambda p: p.update(verify={"tolerances": {"cof": 1e-6}}), ["cof", "coef"]),
        # names used as values: checked against the columns the dataset's histories will have
        (
            lambda p: p.update(fit_survival={"controls": ["log_size", "no_such_var"]}),
            ["datasets.o", "fit_survival.controls", "no_such_var", "log_size"],
        ),
        (
            lambda p: p.update(fit_survival={"controls": ["funding_shar"]}),
            ["fit_survival.controls", "'funding_shar'", "did you mean 'funding_share'"],
        ),
        (
            lambda p: p.update(fit_growth={"environment": ["budgt"]}),
            ["datasets.o", "fit_growth.environment", "budgt", "'budget'"],
        ),
        (
            lambda p: p.update(fit_survival={"environment": ["policy"]}),
            ["fit_survival.environment", "'policy' is a categorical"],
        ),
        (
            lambda p: p.update(fit_bottleneck={"stagnation": {"covariates": ["log_sise"]}}),
            ["fit_bottleneck.stagnation.covariates", "log_sise", "'log_size'"],
        ),
        (
            lambda p: p.update(fit_bottleneck={"equilibrium": {"founding_step": "no_such_step"}}),
            ["fit_bottleneck.equilibrium.founding_step", "no_such_step", "density2"],
        ),
        (
            lambda p: (
                p.update(fit_bottleneck={"equilibrium": {"family": "poisson"}})
                or p.update(fit_founding={"families": ["negative_binomial"]})
            ),
            ["fit_bottleneck.equilibrium.family", "poisson", "negative_binomial"],
        ),
        (
            lambda p: p.update(fit_founding={"spec": {"steps": {"baseline": [], "d": ["densty"]}}}),
            ["fit_founding.spec.steps.d", "densty", "'density'"],
        ),
        (
            lambda p: p.update(fit_founding={"spec": {"steps": {"baseline": [], "p": ["period"]}}}),
            ["period_column is not set", "policy"],
        ),
        (lambda p: p["datasets"]["o"].update(group_columns=["distrct"]), ["group_columns", "'district'"]),
        (lambda p: p.update(fit_survival={"km_groups": ["district"]}), ["km_groups", "district", "cohort"]),
        (lambda p: p.update(render_report={"titles": {"oo": "x"}}), ["render_report.titles", "'oo'", "'o'"]),
    ],
)
def test_unknown_keys_and_names_are_errors_with_nearest_valid_names(mutate, fragments):
    params = _org_minimal()
    mutate(params)
    message = _problem(params)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_names_are_checked_against_the_dataset_not_other_datasets():
    params = _org_minimal()
    params["datasets"]["p"] = _minimal()["datasets"]["x"] | {
        "population": {"path": "data/raw/p/a.csv", "columns": {"year": "y", "density": "n"}}
    }
    # a population series has no spells: survival/growth names are not checked for it, but an override of
    # a stage that cannot apply is refused
    validate_params(params)
    params["datasets"]["p"]["models"] = {"fit_survival": {"controls": []}}
    assert "datasets.p.models.fit_survival: fit_survival does not apply" in _problem(params)


def test_an_override_replaces_the_block_it_names():
    params = _org_minimal()
    params["fit_founding"] = {
        "families": ["poisson"],
        "spec": {
            "steps": {"baseline": [], "density": ["density"], "covariates": ["foundings_lag"]},
            "period_column": "policy",
        },
    }
    params["fit_survival"] = {"environment": []}
    params["fit_bottleneck"] = {"equilibrium": {"family": "poisson", "founding_step": "baseline"}}
    params["datasets"]["o"]["models"] = {
        "fit_founding": {"spec": {"steps": {"baseline": [], "full": ["density", "budget"]}}},
        "fit_survival": {"environment": ["budget"]},
    }
    params = validate_params(params)
    eff = stage_params(params, "fit_founding", "o")
    # the dataset's steps replace the global steps (not merged), its spec replaces the global spec:
    # keys it does not give take the schema defaults, not the global values
    assert eff["spec"]["steps"] == {"baseline": [], "full": ["density", "budget"]}
    assert eff["spec"]["period_column"] is None
    assert eff["spec"]["mass_scale"] == "auto"
    # keys the override does not name are the global block's
    assert eff["families"] == ["poisson"]
    assert stage_params(params, "fit_survival", "o")["environment"] == ["budget"]
    # the global block itself is unchanged
    assert params["fit_founding"]["spec"]["steps"]["covariates"] == ["foundings_lag"]


def test_a_global_environment_covariate_must_exist_in_every_dataset():
    params = _org_minimal()
    other = copy.deepcopy(params["datasets"]["o"])
    other["environment"]["covariates"] = ["gdp"]
    for kind in ("organizations", "panel", "environment"):
        other[kind]["path"] = other[kind]["path"].replace("raw/o", "raw/o2")
    params["datasets"]["o2"] = other
    params["fit_survival"] = {"environment": ["budget"]}
    message = _problem(params)
    assert "datasets.o2: fit_survival.environment: 'budget'" in message and "gdp" in message
    assert "datasets.o:" not in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &x [1, 2]\nb: *x\n", "anchor &x"),
        ("datasets: *x\n", "alias"),
        ("a: !!python/object/apply:os.system ['echo hi']\n", "tag not allowed"),
    ],
)
def test_yaml_anchors_aliases_and_tags_are_refused(tmp_path, text, fragment):
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError, match=fragment):
        load_params(path)


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    path = tmp_path / "params.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not allowed"):
        load_params(path)


def test_params_file_is_plain_yaml():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert "seed" in raw


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        (
            "environment",
            {"path": "data/raw/x/env.csv", "columns": {"year": "year"}, "covariates": ["budget"]},
            "never merged",
        ),
        ("end_reasons", {"dissolved": "death"}, "no organization ends"),
        ("missing_end_reason", "censoring", "no organization ends"),
        ("group_columns", ["district"], "no subpopulation"),
        ("strict", True, "register and panel"),
    ],
)
def test_keys_without_effect_on_a_population_series_are_refused(key, value, why):
    params = _minimal()
    params["datasets"]["x"][key] = value
    with pytest.raises(ParamsError, match=rf"datasets\.x\.{key}\b.*{why}"):
        validate_params(params)


def test_schema_defaults_of_organization_keys_do_not_refuse_a_population_series():
    params = validate_params(_minimal())  # end_reasons, missing_end_reason, group_columns, strict filled in
    assert params["datasets"]["x"]["group_columns"] == [] and params["datasets"]["x"]["strict"] is False
    bundled = load_params(ROOT / "params.yaml")
    assert bundled["datasets"]["china_social_organizations"]["kind"] == "population"
