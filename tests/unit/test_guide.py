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
