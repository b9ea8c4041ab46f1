"""Hostile params, graph and runner cases (issue 9 items 1, 2, 10-13, 18, 19): each breaks one thing in a
tiny project and expects a clean error before anything is written — or, for runs that must succeed, the
stated behaviour — never a traceback, a partial output or a touched input."""

from __future__ import annotations

import json

import pytest

from tests.hostile.harness import Project, assert_clean_error, assert_ok


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


# --- item 1: every key and every name resolves when params load ---------------------------------------
@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda p: p.update(fit_foundng=p.pop("fit_founding")), ["fit_foundng", "fit_founding"]),
        (
            lambda p: p["datasets"]["t"].update(models={"fit_founding": {"familes": ["poisson"]}}),
            ["datasets.t.models.fit_founding", "familes", "families"],
        ),
        (
            lambda p: p["fit_survival"].update(controls=["log_size", "no_such_var"]),
            ["datasets.t", "fit_survival.controls", "no_such_var", "valid: funding_share, log_size"],
        ),
        (
            lambda p: p["fit_growth"].update(environment=["budgte"]),
            ["datasets.t", "fit_growth.environment", "budgte", "did you mean 'budget'"],
        ),
        (
            lambda p: p["fit_bottleneck"]["stagnation"].update(covariates=["funding_shar"]),
            ["fit_bottleneck.stagnation.covariates", "funding_shar", "did you mean 'funding_share'"],
        ),
        (
            lambda p: p["fit_bottleneck"]["equilibrium"].update(founding_step="no_such_step"),
            ["fit_bottleneck.equilibrium.founding_step", "no_such_step", "density2"],
        ),
        (lambda p: p["datasets"]["t"].update(group_columns=["no_such_attr"]), ["group_columns", "district"]),
    ],
)
@pytest.mark.parametrize("stage", ["validate_inputs", "fit_survival"])
def test_unknown_names_stop_every_stage_before_anything_is_written(project, mutate, fragments, stage):
    mutate(project.params)
    assert_clean_error(project.run(stage), "params.yaml", *fragments)


def test_unknown_names_stop_the_graph_tools_too(project):
    project.params["fit_survival"]["controls"] = ["no_such_var"]
    for args in (("dvc-yaml",), ("list-stages",)):
        assert_clean_error(project.cli(*args), "no_such_var", "fit_survival.controls")


# --- item 2: an override replaces the block it names; the effective block is in every result -------------
def test_override_replaces_steps_and_every_result_records_its_effective_params(project):
    project.params["fit_survival"]["environment"] = []
    project.ds["models"] = {
        "fit_founding": {"spec": {"steps": {"baseline": [], "full": ["density"]}}},
        "fit_survival": {"environment": ["budget"]},
    }
    project.params["fit_bottleneck"]["equilibrium"]["founding_step"] = "baseline"
    for stage in ("validate_inputs", "clean_inputs", "build_histories", "fit_founding", "fit_survival"):
        assert_ok(project.run(stage))
    founding = sorted(project.path("results/t/founding").glob("*.json"))
    assert founding
    models = {p.stem for p in founding}
    assert {"poisson_baseline", "poisson_full"} <= models
    assert not any(m.endswith(("_density2", "_covariates")) for m in models), models
    for path in founding:
        eff = json.loads(path.read_text(encoding="utf-8"))["effective_params"]
        assert eff["spec"]["steps"] == {"baseline": [], "full": ["density"]}
    cox = json.loads(project.path("results/t/survival/cox_full.json").read_text(encoding="utf-8"))
    assert cox["effective_params"]["environment"] == ["budget"]
    assert "budget" in cox["specification"]["terms"]


# --- item 19: YAML anchors/aliases and object tags are refused -----------------------------------------
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("seed: &s 1\nother: *s\n", "anchor &s is not allowed"),
        ("seed: !!python/object/apply:os.system ['touch pwned']\n", "tag not allowed"),
    ],
)
def test_yaml_aliases_and_tags_are_refused(project, text, fragment):
    project.write_params_text(text)
    run = project.run("validate_inputs")
    assert_clean_error(run, "params.yaml", fragment)
    assert not project.path("pwned").exists()


def test_yaml_alias_bomb_is_refused_at_once(project):
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 12)]
    project.write_params_text("\n".join(lines) + "\n")
    assert_clean_error(project.run("validate_inputs", timeout=60), "params.yaml", "not allowed")


# --- item 18 (CLI part): clear messages, printed once -------------------------------------------------
def test_unknown_stage_on_the_cli(project):
    run = project.cli("run", "fit_foundng", "--dataset", "t")
    assert_clean_error(run, "not a known stage", "fit_foundng", "did you mean 'fit_founding'")
    assert run.returncode == 2


def test_unknown_dataset_on_the_cli(project):
    assert_clean_error(project.run("validate_inputs", dataset="tt"), "'tt'", "did you mean 't'")


def test_unknown_family(project):
    project.params["fit_founding"]["families"] = ["ols"]
    assert_clean_error(
        project.run("validate_inputs"), "fit_founding.families", "'ols'", "negative_binomial, poisson"
    )


def test_a_failed_write_is_a_clear_message_and_leaves_the_previous_output(project):
    assert_ok(project.run("validate_inputs"))
    before = project.outputs()
    run = project.run("validate_inputs", max_file_bytes=600)
    assert_clean_error(run, "validate_inputs failed for dataset t", "file too large", "nothing was written")
    assert project.outputs() == before


def test_a_missing_input_names_the_earlier_stages(project):
    assert_clean_error(
        project.run("build_histories"), "input missing", "data/interim/t/clean", "run clean_inputs first"
    )
