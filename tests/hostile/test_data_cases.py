"""Hostile data inputs (issue 9): each case breaks one thing in a tiny project and expects a clean error
(or, where params allow it, a stated conversion), never a traceback, a partial output or a touched input."""

from __future__ import annotations

import pytest

from tests.hostile.harness import (
    ORGANIZATIONS_CSV,
    Project,
    assert_clean_error,
    assert_ok,
)


@pytest.fixture
def project(tmp_path):
    return Project(tmp_path)


def test_baseline_tiny_project_builds_histories(project):
    run = project.run_through("build_histories")
    assert_ok(run)
    assert (project.root / "data/processed/t/spells.parquet").exists()


# --- cases that already passed before issue 9 ---------------------------------------------------------
def test_empty_file(project):
    project.write("organizations.csv", "")
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "empty")


def test_header_only(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.splitlines()[0] + "\n")
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "no data rows")


def test_renamed_binary(project):
    project.write("organizations.csv", b"PK\x03\x04" + bytes(range(256)) * 4)
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "zip")


def test_missing_column(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.replace("founded,", "started,", 1))
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "founded")


def test_conflicting_duplicates(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV + "A02,Beta,2001-01-01,,,north\n")
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "A02", "row 3", "row 10")


def test_impossible_dates(project):
    project.write("organizations.csv", ORGANIZATIONS_CSV.replace("2002-01-10", "2002-13-45"))
    assert_clean_error(project.run("validate_inputs"), "organizations.csv", "2002-13-45", "founded")
