"""Benchmark: cold start of the whole bundled pipeline, as a reviewer meets it, and a warm render_report.

1. ``git clone`` of the committed repository into a temporary folder, reusing this repository's locked
   ``.venv`` (a symlink, ``ORGECOLOGY_NO_SETUP=1``: set-up is not timed) and, unless ``--warm-fonts``,
   an empty font cache (``XDG_CACHE_HOME`` in the temporary folder: the once-per-machine font preparation
   is part of the cold start).
2. ``CORES=2 bash scripts/run_pipeline.sh`` — every dataset in params.yaml — timed end to end; the slowest
   jobs are read from its one-line-per-job console output.
3. ``python -m pipeline run render_report --dataset <d>`` again for every dataset (warm: fonts cached,
   inputs unchanged), best of ``--repeat`` runs.

Run: ``.venv/bin/python benchmarks/bench_cold_start.py [--cores 2] [--repeat 2] [--warm-fonts] [--keep]``.
Prints seconds; no asserts (targets: whole pipeline ≤ 60 s, render_report ≤ 5 s per dataset warm).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_CPU = [0.0]  # CPU seconds (user + system) of the last timed command and its children
LINE = re.compile(r"^✓ (\S+)\s+(\S+)\s+([\d.]+) s")


def _env(tmp: Path, cores: int, warm_fonts: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGECOLOGY_")}
    env["PATH"] = f"{(ROOT / '.venv' / 'bin').resolve()}{os.pathsep}{env.get('PATH', '')}"
    env.update(ORGECOLOGY_NO_SETUP="1", ORGECOLOGY_PROGRESS="0", CORES=str(cores))
    if not warm_fonts:
        env["XDG_CACHE_HOME"] = str(tmp / "cache")
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t0, c0 = time.perf_counter(), _cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    LAST_CPU[0] = _cpu() - c0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="warm render_report runs per dataset (best kept)")
    ap.add_argument("--warm-fonts", action="store_true", help="reuse the machine's font cache")
    ap.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="orgecology-cold-"))
    try:
        clone = tmp / "clone"
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
        (clone / ".venv").symlink_to((ROOT / ".venv").resolve())
        env = _env(tmp, args.cores, args.warm_fonts)
        print(f"clone of {ROOT} at {tmp}; cores={args.cores}; fonts {'warm' if args.warm_fonts else 'cold'}")
        print(f"machine load before: {os.getloadavg()[0]:.1f} (1-min average, {os.cpu_count()} CPUs)")

        total, out = _timed(["bash", "scripts/run_pipeline.sh"], clone, env)
        jobs = [(float(m[3]), m[1], m[2]) for m in map(LINE.match, out.splitlines()) if m]
        print(
            f"\nwhole pipeline, cold: {total:.1f} s wall, {LAST_CPU[0]:.1f} s CPU, {len(jobs)} jobs "
            f"(sum of job times {sum(j[0] for j in jobs):.1f} s)"
        )
        print("slowest jobs:")
        for seconds, stage, dataset in sorted(jobs, reverse=True)[:8]:
            print(f"  {stage:<16} {dataset:<28} {seconds:6.1f} s")

        datasets = sorted({d for _, s, d in jobs if s == "render_report"})
        print(f"\nrender_report, warm (best of {args.repeat}):")
        for dataset in datasets:
            cmd = [sys.executable, "-m", "pipeline", "run", "render_report", "--dataset", dataset]
            runs = []
            for _ in range(args.repeat):
                runs.append((_timed(cmd, clone, env)[0], LAST_CPU[0]))
            wall, cpu = min(runs)
            print(f"  {dataset:<28} {wall:6.1f} s wall  {cpu:6.1f} s CPU")
        print(f"\nmachine load after: {os.getloadavg()[0]:.1f}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
