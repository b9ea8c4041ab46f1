"""``python -m pipeline --help`` and every subcommand's ``--help`` show an examples section, and the examples
work: each parses with the command line it documents and names only declared stages and datasets, and the
examples of the commands that only read and print are run."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from pipeline.core.params import load_params
from pipeline.stages.cli import build_parser, main
from pipeline.stages.registry import CROSS_STAGES, STAGES

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "  python -m pipeline"
#: Subcommands that only read (params, raw files, results) and print: their examples are run.
READ_ONLY = ("list-stages", "check-params", "summary", "describe", "params-doc", "dvc-yaml", "new-dataset")
#: Options with which a read-only command writes a file: such examples are parsed, not run.
WRITES = ("--write", "--out")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _helps() -> dict[str, str]:
    """``--help`` text of the main command (key ``""``) and of every subcommand, as argparse prints it."""
    parser = build_parser()
    return {"": parser.format_help(), **{n: p.format_help() for n, p in _subcommands(parser).items()}}


def examples(text: str) -> list[list[str]]:
    """The example commands below ``examples:`` in a help text: the arguments after ``python -m pipeline``,
    without the trailing comment and output redirection."""
    if "examples:" not in text:
        return []
    block = text.split("examples:", 1)[1]
    lines = [ln for ln in block.splitlines() if ln.startswith(f"{PREFIX} ")]
    return [shlex.split(ln.split(" #", 1)[0].split(" > ", 1)[0])[3:] for ln in lines]


def _parse(argv: list[str], where: str) -> argparse.Namespace:
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: example `python -m pipeline {shlex.join(argv)}` does not parse")


def test_examples_are_read_from_the_help_text() -> None:
    text = (
        "usage: x\n\nexamples:\n  python -m pipeline run fit_founding --dataset d   # a comment\n"
        "  python -m pipeline params-doc > docs/params.md\nPaste it, then run `python -m pipeline describe`.\n"
    )
    assert examples(text) == [["run", "fit_founding", "--dataset", "d"], ["params-doc"]]
    assert examples("usage: x\n  python -m pipeline run a\n") == []


def test_main_help_and_every_subcommand_help_show_their_examples() -> None:
    helps = _helps()
    assert len(helps) > 1
    for name, text in helps.items():
        where = f"python -m pipeline {name} --help".replace("  ", " ")
        found = examples(text)
        assert found, f"{where} has no examples: section with `python -m pipeline ...` lines"
        commands = {_parse(argv, where).command for argv in found}
        if name:
            assert commands == {name}, f"{where}: examples of other commands {sorted(commands - {name})}"
        else:
            assert len(commands) > 1, f"{where}: its examples show a single command"


def test_examples_name_declared_stages_and_datasets() -> None:
    params = load_params(ROOT / "params.yaml")
    stages = {s.name for s in (*STAGES, *CROSS_STAGES)}
    for name, text in _helps().items():
        for argv in examples(text):
            args = _parse(argv, name or "main")
            if args.command == "run":
                assert args.stage in stages, argv
            given = getattr(args, "dataset", None)
            for dataset in [given] if isinstance(given, str) else given or []:
                assert dataset in params["datasets"], argv
            assert (ROOT / args.params).is_file(), f"{argv}: no params file {args.params}"


def test_examples_of_read_only_commands_run(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    ran: dict[str, int] = dict.fromkeys(READ_ONLY, 0)
    for argv in (argv for text in _helps().values() for argv in examples(text)):
        args = _parse(argv, "examples")
        if args.command not in READ_ONLY or any(opt in argv for opt in WRITES):
            continue
        if args.command == "new-dataset" and not all((ROOT / f).exists() for f in args.files):
            continue  # illustrates the researcher's own files
        code = main(argv)
        out = capsys.readouterr()
        assert code == 0, f"`python -m pipeline {shlex.join(argv)}` exited {code}: {out.err[-2000:]}"
        assert out.out.strip(), argv
        ran[args.command] += 1
    assert all(ran.values()), (
        f"read-only commands without a runnable example: {[c for c, n in ran.items() if not n]}"
    )
