"""``datasets.<d>.raw_root``: raw files kept outside ``data/raw/<d>/`` when declared, tracked all the same."""

from __future__ import annotations

import pytest

from pipeline.core.params import ParamsError, external_raw_root, raw_root, validate_params
from pipeline.stages.registry import STAGES
from pipeline.stages.render_report import outside_repository, report_inputs
from reports.report import build_bundle


def _params(path: str, root: str | None = None) -> dict:
    ds = {
        "kind": "population",
        "window": {"start": 2000, "end": 2010},
        "population": {"path": path, "columns": {"year": "y", "density": "n"}},
    }
    if root is not None:
        ds["raw_root"] = root
    return {"datasets": {"x": ds}}


def test_default_folder_and_declared_folder(tmp_path):
    assert raw_root("x", {}) == "data/raw/x"
    ext = tmp_path / "registry"
    assert raw_root("x", {"raw_root": str(ext)}) == str(ext)
    assert external_raw_root("x", {"raw_root": str(ext)}, root=tmp_path / "repo")
    assert not external_raw_root("x", {}, root=tmp_path)


def test_a_file_in_the_declared_outside_folder_is_accepted(tmp_path):
    repo, ext = tmp_path / "repo", tmp_path / "registry"
    repo.mkdir()
    ext.mkdir()
    (ext / "a.csv").write_text("y,n\n", encoding="utf-8")
    params = validate_params(_params(str(ext / "a.csv"), str(ext)), root=repo)
    assert params["datasets"]["x"]["raw_root"] == str(ext)


def test_an_absolute_path_without_a_declared_folder_names_raw_root(tmp_path):
    with pytest.raises(ParamsError, match=r"escape.*datasets\.x\.raw_root"):
        validate_params(_params(str(tmp_path / "a.csv")), root=tmp_path)


def test_a_file_outside_the_declared_folder_is_refused(tmp_path):
    repo, ext = tmp_path / "repo", tmp_path / "registry"
    repo.mkdir()
    ext.mkdir()
    with pytest.raises(ParamsError, match=r"outside datasets\.x\.raw_root"):
        validate_params(_params(str(tmp_path / "other" / "a.csv"), str(ext)), root=repo)
    with pytest.raises(ParamsError, match=r"outside datasets\.x\.raw_root"):
        validate_params(_params(str(ext / ".." / "a.csv"), str(ext)), root=repo)


@pytest.mark.parametrize(
    ("root", "fragment"),
    [("results", "not under data/raw"), (".", "contains the repository"), ("..", "contains the repository")],
)
def test_a_declared_folder_that_overlaps_the_repository_is_refused(tmp_path, root, fragment):
    repo = tmp_path / "repo"
    repo.mkdir()
    with pytest.raises(ParamsError, match=fragment):
        validate_params(_params(f"{root}/a.csv", root), root=repo)


def test_a_declared_folder_under_data_raw_is_fine(tmp_path):
    validate_params(_params("data/raw/shared/a.csv", "data/raw/shared"), root=tmp_path)


def test_dvc_tracks_the_declared_folder_and_git_provenance_leaves_it_out(tmp_path):
    ds = {"raw_root": str(tmp_path), "population": {"path": str(tmp_path / "a.csv")}, "kind": "population"}
    validate = next(s for s in STAGES if s.name == "validate_inputs")
    assert validate.dep_paths("x", ds) == [str(tmp_path)]
    assert outside_repository(ds) == [str(tmp_path / "a.csv")]
    assert str(tmp_path / "a.csv") not in report_inputs("x", ds)
    assert "params.yaml" in report_inputs("x", ds)


def test_the_report_says_which_inputs_are_not_in_git():
    prov = {
        "commit": "abc",
        "inputs": {"/mnt/reg/a.csv": "f" * 64, "data/raw/x/b.csv": "e" * 64},
        "outside_repository": ["/mnt/reg/a.csv"],
    }
    items = build_bundle("x", {}, [], {}, provenance=prov)["sections"][0]["lists"][1]["items"]
    assert (
        f"Input /mnt/reg/a.csv (outside the repository, not in git: obtain it separately): SHA-256 {'f' * 64}"
        in items
    )
    assert f"Input data/raw/x/b.csv: SHA-256 {'e' * 64}" in items


def test_the_chinese_report_says_it_too():
    from reports.i18n import Translator

    line = (
        f"Input /mnt/reg/a.csv (outside the repository, not in git: obtain it separately): SHA-256 {'f' * 64}"
    )
    assert (
        Translator("zh")(line)
        == f"输入 /mnt/reg/a.csv（位于仓库之外，不在 git 中：需另行获取）：SHA-256 {'f' * 64}"
    )
