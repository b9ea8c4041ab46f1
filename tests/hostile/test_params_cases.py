"""Hostile params, graph and runner cases (issue 9 items 1, 2, 10-13, 18, 19): each breaks one thing in a
tiny project and expects a clean error before anything is written — or, for runs that must succeed, the
stated behaviour — never a traceback, a partial output or a touched input."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.harness import (
    ORGANIZATIONS_CSV,
    ROOT,
    STAGE_ORDER,
    Project,
    assert_clean_error,
    assert_ok,
)


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
            lambda p: p["fit_survival"]["steps"].update(
                controls="Surv(start, stop, event) ~ log_size + no_such_var + cluster(org_id)"
            ),
            ["datasets.t", "fit_survival.steps.controls", "'no_such_var'", "log_size"],
        ),
        (
            lambda p: p["fit_survival"].update(steps=None, controls=["log_size", "no_such_var"]),
            ["datasets.t", "fit_survival.controls", "no_such_var", "valid: funding_share, log_size"],
        ),
        (
            lambda p: p["fit_growth"].update(formula="growth ~ log_size + budgte + cluster(org_id)"),
            ["datasets.t", "fit_growth.formula", "budgte", "did you mean 'budget'"],
        ),
        (
            lambda p: p["fit_bottleneck"]["stagnation"].update(formula="~ funding_shar + cluster(org_id)"),
            ["fit_bottleneck.stagnation.formula", "funding_shar", "did you mean 'funding_share'"],
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
    project.params["fit_survival"]["steps"]["full"] = "+ no_such_var"
    for args in (("dvc-yaml",), ("list-stages",)):
        assert_clean_error(project.cli(*args), "no_such_var", "fit_survival.steps.full")


# --- item 2: an override replaces the block it names; the effective block is in every result -------------
def test_override_replaces_steps_and_every_result_records_its_effective_params(project):
    survival_steps = {
        "controls": "Surv(start, stop, event) ~ log_size + cluster(org_id)",
        "full": "+ density + budget",
    }
    project.ds["models"] = {
        "fit_founding": {"spec": {"steps": {"baseline": [], "full": ["density"]}}},
        "fit_survival": {"steps": survival_steps},
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
    assert cox["effective_params"]["steps"] == survival_steps
    assert cox["specification"]["terms"] == ["log_size", "density", "budget"]
    assert (
        cox["specification"]["model_formula"]
        == "Surv(start, stop, event) ~ log_size + cluster(org_id) + density + budget"
    )


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


# --- item 10: raw paths resolve inside data/raw/<d>/ -------------------------------------------------
def test_a_path_with_dotdot_is_refused(project):
    project.ds["organizations"]["path"] = "data/raw/t/../../../etc/passwd"
    assert_clean_error(project.run("validate_inputs"), "datasets.t.organizations.path", "'..'")


def test_a_symlink_out_of_the_repository_is_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "register.csv"
    outside.write_text(ORGANIZATIONS_CSV, encoding="utf-8")
    (project.raw / "linked.csv").symlink_to(outside)
    project.ds["organizations"]["path"] = "data/raw/t/linked.csv"
    assert_clean_error(project.run("validate_inputs"), "linked.csv", "symlink", str(outside.parent))


def test_a_symlink_inside_the_raw_folder_is_fine(project):
    (project.raw / "sub").mkdir()
    (project.raw / "sub" / "register.csv").write_text(ORGANIZATIONS_CSV, encoding="utf-8")
    (project.raw / "linked.csv").symlink_to("sub/register.csv")
    project.ds["organizations"]["path"] = "data/raw/t/linked.csv"
    assert_ok(project.run("validate_inputs"))


# --- item 12: leftovers of a killed stage are removed by the stage and never read --------------------
def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _plant_leftovers(project: Project) -> list[Path]:
    dead = 999_999_999  # above the kernel's pid_max: no such process
    junk = [
        project.path(f"results/t/.survival.{dead}.abcd_123.tmp"),
        project.path("results/t/.survival.old"),
        project.path("results/t/.survival.k2j4_x9q.tmp"),  # name of a temporary before pids were in names
    ]
    for folder in junk:
        folder.mkdir(parents=True)
        (folder / "cox_full.json").write_text('{"model": "cox_full", "junk": true}', encoding="utf-8")
    return junk


def test_render_report_reads_no_hidden_folder_and_stages_remove_their_leftovers(project):
    for stage in STAGE_ORDER:
        assert_ok(project.run(stage))
    metrics = project.path("metrics/t.json").read_bytes()
    survival = _files(project.path("results/t/survival"))
    junk = _plant_leftovers(project)
    assert_ok(project.run("render_report"))
    assert project.path("metrics/t.json").read_bytes() == metrics
    assert ".survival" not in metrics.decode()
    assert all(p.exists() for p in junk)  # not render_report's own temporaries
    assert_ok(project.run("fit_survival"))
    assert not any(p.exists() for p in junk)
    assert _files(project.path("results/t/survival")) == survival


def test_kill_9_mid_stage_keeps_the_previous_output_and_the_rerun_is_byte_identical(project):
    for stage in STAGE_ORDER[:5]:
        assert_ok(project.run(stage))
    before = _files(project.path("results/t/survival"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pipeline", "run", "fit_survival", "--dataset", "t"]
    proc = subprocess.Popen(cmd, cwd=project.root, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if list(project.path("results/t").glob(".survival.*.tmp")):
            break  # the stage is writing its output: kill it now
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whenever the kill came, the previous output is complete and in place (atomic exchange)
    assert _files(project.path("results/t/survival")) == before
    assert_ok(project.run("fit_survival"))
    assert _files(project.path("results/t/survival")) == before
    assert not list(project.path("results/t").glob(".survival.*"))


# --- concurrent runs of one stage: one runs, the other is refused clearly ----------------------------
def test_a_second_run_of_a_running_stage_is_refused(project):
    for stage in STAGE_ORDER[:3]:
        assert_ok(project.run(stage))
    lock = project.path("logs/fit_founding/.t.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:  # another process holds the stage's lock
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = project.run("fit_founding")
    assert_clean_error(run, "fit_founding for dataset t is already running")
    assert_ok(project.run("fit_founding"))


def test_two_simultaneous_runs_leave_one_complete_output(project):
    for stage in STAGE_ORDER[:3]:
        assert_ok(project.run(stage))
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pipeline", "run", "fit_founding", "--dataset", "t"]
    procs = [
        subprocess.Popen(cmd, cwd=project.root, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for code, err in outs:
        assert "Traceback" not in err
        assert code == 0 or "already running" in err
    assert any(code == 0 for code, _ in outs)
    reference = _files(project.path("results/t/founding"))
    assert_ok(project.run("fit_founding"))
    assert _files(project.path("results/t/founding")) == reference


# --- read-only raw data: every stage runs, nothing is written into data/raw ---------------------------
def test_read_only_raw_data(project):
    for path in [*project.raw.rglob("*"), project.raw]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        for stage in STAGE_ORDER:
            assert_ok(project.run(stage))
    finally:
        for path in [project.raw, *project.raw.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert sorted(p.name for p in project.raw.iterdir()) == [
        "environment.csv",
        "organizations.csv",
        "panel.csv",
    ]


# --- items 10, 13: the runners on a tiny project with this checkout's code ----------------------------
CODE = ("pipeline", "analysis", "reports", "Snakefile", "environment.yml", ".dvcignore", ".dvc/config")


def _runner(project: Project, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(project.root), PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        [sys.executable, "-m", *cmd], cwd=project.root, env=env, capture_output=True, text=True, timeout=900
    )
    if check:
        assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _planned(proc: subprocess.CompletedProcess[str]) -> set[str]:
    """Rules a Snakemake dry run plans (from its job-stats table)."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return set()
    table = text.split("Job stats:", 1)[1].split("total", 1)[0]
    return {line.split()[0] for line in table.splitlines()[3:] if line.strip()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tiny project with this checkout's code, built once by Snakemake."""
    import shutil

    project = Project(tmp_path_factory.mktemp("built"))
    for rel in CODE:
        src, dst = ROOT / rel, project.root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "out"))
        else:
            shutil.copy2(src, dst)
    project.save_params()
    (project.root / "dvc.yaml").write_text(_runner(project, "pipeline", "dvc-yaml").stdout, encoding="utf-8")
    _runner(project, "snakemake", "--cores", "2")
    return project


@pytest.fixture
def copy_of(built, tmp_path):
    import shutil

    dst = tmp_path / "p"
    shutil.copytree(built.root, dst, symlinks=True)  # copy2: time stamps kept, Snakemake metadata valid
    project = Project.__new__(Project)
    project.root, project.params, project.dataset = dst, built.copy(), built.dataset
    return project


@pytest.mark.slow
def test_snakemake_inputs_are_the_declared_raw_files(copy_of):
    assert _planned(_runner(copy_of, "snakemake", "-n", "reports/out/t")) == set()
    register = copy_of.raw / "organizations.csv"
    register.write_text(register.read_text(encoding="utf-8").replace("Alpha", "Alphb"), encoding="utf-8")
    planned = _planned(_runner(copy_of, "snakemake", "-n", "reports/out/t"))
    assert {"validate_inputs", "render_report"} <= planned


@pytest.mark.slow
def test_a_missing_result_folder_is_rebuilt_before_the_report(copy_of):
    import shutil

    shutil.rmtree(copy_of.path("results/t/survival"))
    dry = _runner(copy_of, "snakemake", "-n", "reports/out/t")
    assert _planned(dry) == {"fit_survival", "render_report"}
    assert "results/t/survival is missing" in dry.stderr
    _runner(copy_of, "snakemake", "--cores", "2", "reports/out/t")
    assert copy_of.path("results/t/survival/cox_full.json").exists()
    assert _planned(_runner(copy_of, "snakemake", "-n", "reports/out/t")) == set()
    # the index across datasets reads the rebuilt report: only it is left to do
    assert _planned(_runner(copy_of, "snakemake", "-n")) == {"render_index", "all"}


@pytest.mark.slow
def test_snakemake_bookkeeping_does_not_make_dvc_outputs_modified(copy_of):
    _runner(copy_of, "dvc", "init", "--no-scm", "-f", check=False)
    _runner(copy_of, "dvc", "repro", "--quiet")
    assert "up to date" in _runner(copy_of, "dvc", "status").stdout
    _runner(copy_of, "snakemake", "--cores", "1", "--forcerun", "fit_growth", "--until", "fit_growth")
    assert copy_of.path("results/t/growth/.snakemake_timestamp").exists()
    assert "up to date" in _runner(copy_of, "dvc", "status").stdout


@pytest.mark.slow
def test_snakemake_and_dvc_yaml_with_bad_params_print_one_message(copy_of):
    copy_of.params["fit_survival"]["steps"]["full"] = "+ no_such_var"
    copy_of.save_params()
    before = copy_of.outputs()
    proc = _runner(copy_of, "snakemake", "-n", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr
    assert proc.stderr.count("fit_survival.steps.full: 'no_such_var' is not a survival-model term") == 1
    assert copy_of.outputs() == before


@pytest.mark.slow
def test_snakemake_notices_a_raw_file_rewritten_with_its_old_time_stamp(copy_of):
    register = copy_of.raw / "organizations.csv"
    stamp = register.stat()
    register.write_text(register.read_text(encoding="utf-8").replace("Alpha", "Alphb"), encoding="utf-8")
    os.utime(register, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # like `cp -p` of another version
    assert {"validate_inputs", "render_report"} <= _planned(_runner(copy_of, "snakemake", "-n"))


@pytest.mark.slow
def test_a_missing_report_is_rebuilt_before_the_index(copy_of):
    import shutil

    from pipeline.core.paths import REPORT_INDEX

    shutil.rmtree(copy_of.path("reports/out/t"))
    assert {"render_report", "render_index"} <= _planned(_runner(copy_of, "snakemake", "-n", REPORT_INDEX))


def test_a_requested_subpopulation_panel_without_data_is_said_out_loud():
    import pandas as pd

    from pipeline.stages.fit_founding import fit_founding

    years = list(range(2000, 2020))
    density = [10 + 3 * i for i in range(20)]
    foundings = [2, 3, 3, 4, 5, 4, 6, 5, 7, 6, 5, 6, 4, 5, 3, 4, 2, 3, 2, 1]
    pop = pd.DataFrame({"year": years, "density": density, "foundings": foundings})
    results = fit_founding(
        pop,
        None,
        dataset="t",
        spec={"steps": {"baseline": [], "density": ["density"]}},
        density_scale=10,
        families=["poisson"],
        se_type="observed",
        panel_se_type="cluster",
        panel_group_vars=["district"],
    )
    assert results and all("No subpopulation panel for district" in " ".join(r.notes) for r in results)


def test_a_raw_folder_that_is_a_symlink_out_of_the_repository_is_refused(project, tmp_path_factory):
    import shutil

    elsewhere = tmp_path_factory.mktemp("mounted") / "t"
    shutil.move(project.raw, elsewhere)
    project.raw.symlink_to(elsewhere, target_is_directory=True)
    assert_clean_error(project.run("validate_inputs"), "data/raw/t is a symlink", "outside the repository")


def test_a_truth_file_outside_the_raw_folder_is_refused(project):
    project.ds["truth"] = "data/raw/t/../../../truth.json"
    assert_clean_error(project.run("validate_inputs"), "datasets.t.truth", "'..'")
