"""Command line: ``python -m pipeline run <stage> --dataset <name>`` and graph utilities.

Both Snakemake and DVC call exactly this command for every stage.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from pathlib import Path

from pipeline.core.params import ParamsError, load_params

# Deterministic floating point: multithreaded BLAS/OpenMP reductions change the last bits of results
# with the number of threads and the machine's load. Every stage runs single-threaded (the graph runs
# stages in parallel instead), so two runs — under Snakemake or DVC — give byte-identical results.
# Set before any numerical library is imported (the imports above load none).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _setup_logging(log_path: Path | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.core.errors import InputError
    from pipeline.core.paths import DatasetPaths
    from pipeline.stages.registry import by_name

    stage = by_name(args.stage)
    params = load_params(args.params)
    if args.dataset not in params["datasets"]:
        known = ", ".join(params["datasets"])
        print(
            f"error: dataset {args.dataset!r} is not declared in {args.params} (known: {known})",
            file=sys.stderr,
        )
        return 2
    if not stage.applies(params["datasets"][args.dataset]):
        print(f"error: stage {stage.name} does not apply to dataset {args.dataset}", file=sys.stderr)
        return 2
    _setup_logging(DatasetPaths(args.dataset).log(stage.name))
    log = logging.getLogger(stage.name)
    t0 = time.perf_counter()
    log.info("dataset %s: start", args.dataset)
    module = importlib.import_module(stage.module)
    try:
        module.run(args.dataset, params)
    except InputError as exc:
        # once: the logger writes it to stderr and to the stage's log file
        log.error("%s failed for dataset %s:\n%s", stage.name, args.dataset, exc)
        return 1
    log.info("dataset %s: done in %.1f s", args.dataset, time.perf_counter() - t0)
    return 0


def cmd_dvc_yaml(args: argparse.Namespace) -> int:
    from pipeline.stages.graph import dvc_yaml_text

    sys.stdout.write(dvc_yaml_text(load_params(args.params)))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from pipeline.stages.registry import STAGES, datasets_for

    params = load_params(args.params)
    for stage in STAGES:
        print(f"{stage.name}: {', '.join(datasets_for(stage, params))}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from analysis.verify import format_table, verify_tree

    params = load_params(args.params)
    tol = params.get("verify", {}).get("tolerances", {})
    checks = verify_tree(Path(args.reference), Path(args.results), tol, datasets=args.dataset)
    print(format_table(checks, only_failures=not args.all))
    if not checks:
        print("error: nothing to verify (no reference results found)", file=sys.stderr)
        return 1
    return 0 if all(c.ok for c in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument("--params", default="params.yaml", help="parameters file (default: params.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one stage for one dataset")
    run.add_argument("stage")
    run.add_argument("--dataset", required=True)
    run.set_defaults(func=cmd_run)
    dvc = sub.add_parser("dvc-yaml", help="print dvc.yaml generated from the stage registry")
    dvc.set_defaults(func=cmd_dvc_yaml)
    lst = sub.add_parser("list-stages", help="list stages and the datasets each applies to")
    lst.set_defaults(func=cmd_list)
    ver = sub.add_parser("verify", help="compare fresh results with the committed reference results")
    ver.add_argument("--reference", default="reference/results", help="committed reference results")
    ver.add_argument("--results", default="results", help="freshly produced results")
    ver.add_argument("--all", action="store_true", help="print passing checks too")
    ver.add_argument("--dataset", action="append", help="only this dataset (repeatable; default: all)")
    ver.set_defaults(func=cmd_verify)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
