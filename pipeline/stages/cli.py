"""Command line: ``python -m pipeline run <stage> --dataset <name>`` and graph utilities.

Both Snakemake and DVC call exactly this command for every stage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from pipeline.core.kernels import describe as describe_kernels
from pipeline.core.nearest import unknown_name_message
from pipeline.core.params import ParamsError, load_params

# Deterministic floating point: multithreaded BLAS/OpenMP reductions change the last bits of results
# with the number of threads and the machine's load. Every stage runs single-threaded (the graph runs
# stages in parallel instead), so two runs — under Snakemake or DVC — give byte-identical results.
# Set before any numerical library is imported (the imports above load none).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


#: ``--help`` examples of every subcommand (docs/guide.md has the walk-through).
EXAMPLES = {
    "run": """examples:
  python -m pipeline run validate_inputs --dataset default
  python -m pipeline run fit_founding --dataset us_commercial_banks
  python -m pipeline run render_index            # across datasets, after every report""",
    "dvc-yaml": """examples:
  python -m pipeline dvc-yaml > dvc.yaml
  python -m pipeline dvc-yaml --write            # rewrite dvc.yaml only if it changed""",
    "list-stages": """examples:
  python -m pipeline list-stages                 # each stage with the datasets it runs for""",
    "check-params": """examples:
  python -m pipeline check-params
  python -m pipeline check-params --dataset cow_igo --json""",
    "verify": """examples:
  python -m pipeline verify                      # failures only; exit 1 on any mismatch
  python -m pipeline verify --all --dataset default""",
    "summary": """examples:
  python -m pipeline summary                     # what run_pipeline.sh prints at the end""",
    "new-dataset": """examples:
  python -m pipeline new-dataset data/raw/my_ngos/register.xlsx data/raw/my_ngos/panel.dta
  python -m pipeline new-dataset counts.csv --name my_series --out my_series.yaml
  python -m pipeline new-dataset data/raw/cow_igo/cow_igo_v3_lifespans.csv data/raw/cow_igo/cow_igo_v3_igo_year_membercounts.csv
Paste the entry under `datasets:` in params.yaml, review every CHECK, then run
`python -m pipeline check-params --dataset NAME` and `python -m pipeline describe --dataset NAME`.""",
    "describe": """examples:
  python -m pipeline describe --dataset china_social_organizations
  python -m pipeline describe                    # every dataset""",
    "params-doc": """examples:
  python -m pipeline params-doc > docs/params.md  # tests/unit/test_params_doc.py fails on drift""",
}

#: ``python -m pipeline --help`` examples: a first session (``--params`` goes before the command).
MAIN_EXAMPLES = """examples:
  python -m pipeline check-params                # params.yaml loads; every model's formula
  python -m pipeline describe --dataset default  # what will be fitted, and why a stage does not apply
  python -m pipeline run validate_inputs --dataset default
  python -m pipeline --params params.yaml list-stages   # another params file: --params before the command

`python -m pipeline <command> --help` shows each command's examples; docs/guide.md walks through them."""

_LOCKS: list[Any] = []  # open lock files, held until the process exits (the kernel frees them on kill)


def _lock_stage(path: Path) -> bool:
    """Take the exclusive lock of one stage and dataset; False when another process holds it."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 - kept open for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _LOCKS.append(handle)
    return True


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.core.console import StageConsole
    from pipeline.core.errors import InputError
    from pipeline.core.paths import DatasetPaths
    from pipeline.stages.registry import CROSS_STAGES, STAGES, by_name

    stage_names = [s.name for s in STAGES] + [s.name for s in CROSS_STAGES]

    if args.stage not in stage_names:
        print(
            f"error: {unknown_name_message('run', args.stage, stage_names, 'a known stage')}", file=sys.stderr
        )
        return 2
    params = load_params(args.params)
    cross = next((s for s in CROSS_STAGES if s.name == args.stage), None)
    if cross is not None:
        return _run_cross(cross, params, stage_names)
    stage = by_name(args.stage)
    if args.dataset is None:
        print(f"error: stage {stage.name} runs per dataset: give --dataset NAME", file=sys.stderr)
        return 2
    if args.dataset not in params["datasets"]:
        what = f"a dataset declared in {args.params}"
        print(
            f"error: {unknown_name_message('--dataset', args.dataset, params['datasets'], what)}",
            file=sys.stderr,
        )
        return 2
    if not stage.applies(params["datasets"][args.dataset]):
        print(f"error: stage {stage.name} does not apply to dataset {args.dataset}", file=sys.stderr)
        return 2
    missing = [
        d for d in stage.dep_paths(args.dataset, params["datasets"][args.dataset]) if not Path(d).exists()
    ]
    if missing:
        makers = {o: s.name for s in STAGES for o in s.paths("outs", args.dataset)}
        first = list(dict.fromkeys(makers.get(d, "") for d in missing if makers.get(d)))
        hint = f"run {', '.join(first)} first" if first else "check the paths in params.yaml"
        print(
            f"error: {stage.name} for dataset {args.dataset}: input missing: {', '.join(missing)} ({hint}; "
            "`snakemake` or `dvc repro` run the stages in order)",
            file=sys.stderr,
        )
        return 1
    log_path = DatasetPaths(args.dataset).log(stage.name)
    lock = log_path.with_name(f".{args.dataset}.lock")
    if not _lock_stage(lock):
        print(
            f"error: {stage.name} for dataset {args.dataset} is already running in another process "
            f"(it holds {lock}); wait for it to finish — two runs of one stage would write the same "
            "output folder.",
            file=sys.stderr,
        )
        return 1
    log = logging.getLogger(stage.name)
    with StageConsole(stage.name, args.dataset, log_path, own_loggers=tuple(stage_names)) as console:
        log.info("dataset %s: start", args.dataset)
        log.info("%s", describe_kernels())
        module = importlib.import_module(stage.module)
        try:
            module.run(args.dataset, params)
        except InputError as exc:
            # once: the logger writes it to stderr and to the stage's log file
            log.error("%s failed for dataset %s:\n%s", stage.name, args.dataset, exc)
            console.finished(ok=False)
            return 1
        except OSError as exc:
            log.error("%s failed for dataset %s: %s", stage.name, args.dataset, describe_os_error(exc))
            console.finished(ok=False)
            return 1
        except BaseException:
            console.finished(ok=False)
            raise
        console.finished(ok=True)
    return 0


def _run_cross(stage: Any, params: dict[str, Any], stage_names: list[str]) -> int:
    """Run a stage across all datasets (``python -m pipeline run render_index``)."""
    from pipeline.core.console import StageConsole

    missing = [d for d in stage.dep_paths(params) if not Path(d).exists()]
    if missing:
        print(
            f"error: {stage.name}: input missing: {', '.join(missing)} (run {stage.over} first; "
            "`snakemake` or `dvc repro` run the stages in order)",
            file=sys.stderr,
        )
        return 1
    log_path = Path("logs") / stage.name / "all.log"
    lock = log_path.with_name(".all.lock")
    if not _lock_stage(lock):
        print(f"error: {stage.name} is already running in another process (it holds {lock})", file=sys.stderr)
        return 1
    log = logging.getLogger(stage.name)
    with StageConsole(stage.name, "all", log_path, own_loggers=tuple(stage_names)) as console:
        module = importlib.import_module(stage.module)
        try:
            module.run(params)
        except OSError as exc:
            log.error("%s failed: %s", stage.name, describe_os_error(exc))
            console.finished(ok=False)
            return 1
        except BaseException:
            console.finished(ok=False)
            raise
        console.finished(ok=True)
    return 0


def describe_os_error(exc: OSError) -> str:
    """A failed read or write in the researcher's terms: what, which file, and what was (not) written."""
    where = f" ({exc.filename})" if exc.filename else ""
    if isinstance(exc, FileNotFoundError):
        return (
            f"an input file is missing{where}: run the stages before this one first "
            "(`snakemake` or `dvc repro` run them in order)."
        )
    reason = exc.strerror or str(exc)
    return (
        f"could not read or write a file{where}: {reason} [errno {exc.errno}]. Nothing was written: the "
        "stage's output folder is as it was before this run (free space, file-size limits and permissions "
        "of the output folders are the usual causes)."
    )


def cmd_dvc_yaml(args: argparse.Namespace) -> int:
    from pipeline.core.io import write_text
    from pipeline.stages.graph import dvc_yaml_text

    text = dvc_yaml_text(load_params(args.params))
    if not args.write:
        sys.stdout.write(text)
        return 0
    target = Path(args.params).resolve().parent / "dvc.yaml"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        write_text(target, text)
        print(f"==> {target.name} regenerated for the datasets in {args.params}", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from pipeline.stages.registry import CROSS_STAGES, STAGES, datasets_for

    params = load_params(args.params)
    for stage in STAGES:
        print(f"{stage.name}: {', '.join(datasets_for(stage, params))}")
    for cross in CROSS_STAGES:
        print(f"{cross.name}: across {', '.join(cross.datasets(params))}")
    return 0


def cmd_check_params(args: argparse.Namespace) -> int:
    """Load and check params (every name of every formula) and print each model's effective specification."""
    import json

    from pipeline.stages.specification import effective_specification, format_specification

    spec = effective_specification(load_params(args.params))
    if args.dataset:
        missing = [d for d in args.dataset if d not in spec]
        if missing:
            raise ParamsError(unknown_name_message("check-params --dataset", missing[0], spec, "a dataset"))
        spec = {d: spec[d] for d in args.dataset}
    print(json.dumps(spec, indent=2, ensure_ascii=False) if args.json else format_specification(spec))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from analysis.verify import format_table, unverified_datasets, verify_tree

    params = load_params(args.params)
    tol = params.get("verify", {}).get("tolerances", {})
    ref, fresh = Path(args.reference), Path(args.results)
    checks = verify_tree(ref, fresh, tol, datasets=args.dataset)
    print(format_table(checks, only_failures=not args.all))
    for name in unverified_datasets(ref, fresh, list(params["datasets"]), datasets=args.dataset):
        print(
            f"not verified: dataset {name} has no reference results in {ref.as_posix()}/ (to make this "
            f"run the reference: cp -r {fresh.as_posix()}/{name} {ref.as_posix()}/{name})"
        )
    if not checks:
        print("error: nothing to verify (no reference results found)", file=sys.stderr)
        return 1
    return 0 if all(c.ok for c in checks) else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from pipeline.stages.summary import collect, summary_text

    sys.stdout.write(summary_text(collect(load_params(args.params))))
    return 0


def cmd_new_dataset(args: argparse.Namespace) -> int:
    """Sniff raw files and print (or write to --out) a commented params entry to review."""
    from pipeline.core.errors import InputError
    from pipeline.core.io import write_text
    from pipeline.stages.scaffold import ScaffoldError, default_name, new_dataset_text

    name = args.name or default_name(args.files)
    try:
        text = new_dataset_text(args.files, name)
    except (InputError, ScaffoldError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.out:
        if Path(args.out).resolve() == Path(args.params).resolve():
            print(
                f"error: --out {args.out} is the params file: the entry is written for you to review and "
                "paste, never into params.yaml itself",
                file=sys.stderr,
            )
            return 2
        write_text(Path(args.out), text)
        print(
            f"==> entry for dataset {name} written to {args.out}: review it, then paste it under datasets:",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    """What will be fitted for each dataset and why a stage does not apply."""
    from pipeline.stages.describe import describe_dataset

    params = load_params(args.params)
    names = args.dataset or list(params["datasets"])
    for name in names:
        if name not in params["datasets"]:
            raise ParamsError(
                unknown_name_message("describe --dataset", name, params["datasets"], "a dataset")
            )
    sys.stdout.write("\n".join(describe_dataset(params, name) for name in names))
    return 0


def cmd_params_doc(args: argparse.Namespace) -> int:
    """Print the params reference generated from pipeline/core/params.schema.json (docs/params.md)."""
    from pipeline.stages.params_doc import params_reference

    sys.stdout.write(params_reference())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: every subcommand with its options and its ``--help`` examples (:data:`EXAMPLES`)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description=__doc__,
        epilog=MAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one stage for one dataset (render_index: across all datasets)")
    run.add_argument("stage")
    run.add_argument("--dataset", help="dataset name (every stage but render_index)")
    run.set_defaults(func=cmd_run)
    dvc = sub.add_parser("dvc-yaml", help="print dvc.yaml generated from the stage registry")
    dvc.add_argument(
        "--write", action="store_true", help="write dvc.yaml next to the params file (only if it changed)"
    )
    dvc.set_defaults(func=cmd_dvc_yaml)
    lst = sub.add_parser("list-stages", help="list stages and the datasets each applies to")
    lst.set_defaults(func=cmd_list)
    chk = sub.add_parser(
        "check-params",
        help="check params.yaml and print the effective formula of every model of every dataset",
    )
    chk.add_argument("--dataset", action="append", help="only this dataset (repeatable; default: all)")
    chk.add_argument("--json", action="store_true", help="print JSON instead of text")
    chk.set_defaults(func=cmd_check_params)
    ver = sub.add_parser("verify", help="compare fresh results with the committed reference results")
    ver.add_argument("--reference", default="reference/results", help="committed reference results")
    ver.add_argument("--results", default="results", help="freshly produced results")
    ver.add_argument("--all", action="store_true", help="print passing checks too")
    ver.add_argument("--dataset", action="append", help="only this dataset (repeatable; default: all)")
    ver.set_defaults(func=cmd_verify)
    summ = sub.add_parser("summary", help="reports written, warnings and weak results of the last run")
    summ.set_defaults(func=cmd_summary)
    new = sub.add_parser(
        "new-dataset",
        help="sniff raw files and print a commented params entry to review (params.yaml is not edited)",
    )
    new.add_argument(
        "files", nargs="+", metavar="FILE", help="raw files: register, panel, environment or series"
    )
    new.add_argument("--name", help="dataset name (default: the folder under data/raw/, else the file name)")
    new.add_argument("--out", help="write the entry to this file instead of stdout (never params.yaml)")
    new.set_defaults(func=cmd_new_dataset)
    desc = sub.add_parser(
        "describe",
        help="what will be fitted for a dataset and why a stage does not apply",
    )
    desc.add_argument("--dataset", action="append", help="only this dataset (repeatable; default: all)")
    desc.set_defaults(func=cmd_describe)
    pdoc = sub.add_parser(
        "params-doc",
        help="print the params reference generated from the schema (docs/params.md)",
    )
    pdoc.set_defaults(func=cmd_params_doc)
    for name, sp in sub.choices.items():
        sp.epilog = EXAMPLES.get(name, sp.epilog)
        sp.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # outside a stage: reading params, writing to stdout
        print(f"error: {describe_os_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
