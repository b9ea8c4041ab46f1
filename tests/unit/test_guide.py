"""docs/guide.md: its links exist, every CLI subcommand is in its command table and has --help examples, and
the error messages it quotes are the code's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.stages.cli import EXAMPLES, main
from pipeline.stages.describe import describe_dataset

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")


def test_links_resolve_and_readme_points_to_the_guide() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", GUIDE):
        assert (ROOT / "docs" / target).exists(), target
    assert "(docs/guide.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_subcommand_has_examples_and_a_row_in_the_guide(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = re.search(r"\{([a-z,-]+)\}", capsys.readouterr().out).group(1).split(",")
    assert sorted(listed) == sorted(EXAMPLES)
    for name in listed:
        assert f"| `{name}" in GUIDE, name
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_quoted_messages_are_the_codes(tmp_path: Path, capsys) -> None:
    from pipeline.core.params import load_params

    text = (ROOT / "params.yaml").read_text(encoding="utf-8").replace("\nfit_founding:", "\nfit_foundng:")
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    assert main(["--params", str(tmp_path / "params.yaml"), "check-params"]) == 2
    err = capsys.readouterr().err
    assert "unknown key: 'fit_foundng' is not recognised here; did you mean 'fit_founding'?" in err
    assert "unknown key: 'fit_foundng' is not recognised here; did you mean 'fit_founding'?" in GUIDE
    params = load_params(ROOT / "params.yaml")
    shown = describe_dataset(params, "china_social_organizations", processed=tmp_path / "none")
    for line in shown.splitlines():
        if line.lstrip().startswith("✗"):
            assert line in GUIDE


def _validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, register: str) -> str:
    """validate_inputs on a one-file register drafted by new-dataset; the InputError text."""
    from pipeline.core.errors import InputError
    from pipeline.core.params import load_params
    from pipeline.stages import validate_inputs
    from pipeline.stages.scaffold import new_dataset_text

    monkeypatch.chdir(tmp_path)
    raw = Path("data/raw/bad")
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "register.csv").write_text(register, encoding="utf-8")
    entry = new_dataset_text([(raw / "register.csv").as_posix()], "bad")
    text = (
        (ROOT / "params.yaml")
        .read_text(encoding="utf-8")
        .replace("\ndatasets:\n", "\ndatasets:\n" + entry, 1)
    )
    Path("params.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        validate_inputs.run("bad", load_params("params.yaml"))
    return str(err.value)


def _quoted_rows(heading: str) -> list[str]:
    block = GUIDE.split(heading, 1)[1].split("```", 2)[1]
    return [line.rstrip() for line in block.splitlines() if line.startswith(("data/raw", "  register.csv"))]


def test_quoted_input_errors_are_the_validators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_dates = "org_id,founded,ended\nA1,2015.3,\nA2,2012-07-02,2018-01\nA2,2013-01-01,\nA3,2015年13月,\nA4,2011,2010\n"
    got = _validate(tmp_path, monkeypatch, bad_dates)
    rows = _quoted_rows("**Dates that cannot be read, or cannot exist**")
    assert len(rows) == 3
    for row in rows:
        assert row.removesuffix("…") in got, row
    dup = "org_id,founded,ended\nA1,2015-03,\nA2,2012-07-02,2018-01\nA2,2013-01-01,\nA3,2015年12月,\nA4,2011,2010\n"
    got = _validate(tmp_path, monkeypatch, dup)
    rows = _quoted_rows("**The same organization twice with different dates**")
    assert len(rows) == 2
    for row in rows:
        assert row in got, row
