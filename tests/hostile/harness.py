"""Hostile-input harness: a tiny project in a temporary folder, stages run as the user runs them.

A :class:`Project` holds ``params.yaml`` (every stage block copied from the repository's own params, one
small organization dataset ``t`` of 8 organizations) and its raw files under ``data/raw/t/``. Each case
breaks one thing (a file, a params key), runs ``python -m pipeline run <stage> --dataset t`` as a
subprocess with the code of this checkout, and checks the outcome with :func:`assert_clean_error` or
:func:`assert_ok`::

    def test_something(tmp_path):
        p = Project(tmp_path)
        p.write("organizations.csv", ORGANIZATIONS_CSV.replace("2004-05-01", "2099-01-01"))
        run = p.run("validate_inputs")
        assert_clean_error(run, "2099")

:func:`assert_clean_error` asserts a non-zero exit without a traceback, every expected fragment in the
message (case-insensitive), the message printed once (no repeated line), no new or changed output file
(nor a leftover temporary), and raw data and params untouched.
"""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DATASET = "t"
#: Folders stages write into (a failing stage must leave them as they were).
OUTPUT_DIRS = ("data/interim", "data/processed", "results", "reports/out", "plots", "metrics")
#: Stages of an organization dataset in graph order.
STAGE_ORDER = (
    "validate_inputs",
    "clean_inputs",
    "build_histories",
    "fit_founding",
    "fit_survival",
    "fit_growth",
    "fit_bottleneck",
    "render_report",
)
TIMEOUT = 300  # seconds; a stage that runs longer on these inputs hangs

# Hand-checkable register: 8 organizations, window 2000-2010; two deaths, one merger, five alive.
ORGANIZATIONS_CSV = """\
org_id,name,founded,ended,end_reason,district
A01,Alpha,1998-04-01,2006-07-01,dissolved,north
A02,Beta,2000-02-15,,,north
A03,Gamma,2001-06-30,2008-03-01,merged,south
A04,Delta,2002-01-10,,,south
A05,Epsilon,2003-09-01,2009-11-20,dissolved,north
A06,Zeta,2004-05-01,,,south
A07,Eta,2005-03-03,,,north
A08,Theta,2007-08-08,,,south
"""

PANEL_CSV = """\
org_id,year,staff,gov_share
A01,2000,5,0.5
A01,2001,6,0.4
A02,2001,3,0.2
A02,2002,4,0.3
A03,2002,8,0.6
A03,2003,9,0.7
A04,2003,2,0.1
A04,2004,3,0.2
A05,2004,7,0.5
A05,2005,8,0.4
A06,2005,4,0.3
A06,2006,5,0.2
A07,2006,6,0.1
A07,2007,7,0.2
A08,2008,3,0.9
A08,2009,4,0.8
"""

ENVIRONMENT_CSV = "year,budget\n" + "".join(f"{y},{1 + (y - 2000) * 0.5}\n" for y in range(2000, 2011))


def dataset_params() -> dict[str, Any]:
    """The params entry of the tiny dataset ``t`` (paths relative to the project root)."""
    raw = f"data/raw/{DATASET}"
    return {
        "description": "hostile-input test dataset",
        "kind": "organizations",
        "window": {"start": 2000, "end": 2010},
        "date_rule": "midpoint",
        "organizations": {
            "path": f"{raw}/organizations.csv",
            "columns": {
                "org_id": "org_id",
                "founded": "founded",
                "ended": "ended",
                "end_reason": "end_reason",
            },
            "attributes": ["name", "district"],
        },
        "panel": {
            "path": f"{raw}/panel.csv",
            "columns": {"org_id": "org_id", "year": "year"},
            "measures": {"size": "staff", "funding_share": "gov_share"},
        },
        "environment": {
            "path": f"{raw}/environment.csv",
            "columns": {"year": "year"},
            "covariates": ["budget"],
        },
        "end_reasons": {"dissolved": "death", "merged": "competing"},
        "group_columns": [],
        "density_scale": 10,
    }


def base_params() -> dict[str, Any]:
    """The repository's params.yaml with its datasets replaced by the tiny dataset ``t``."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["datasets"] = {DATASET: dataset_params()}
    # titles and literature are keyed by dataset: names of datasets not declared here are errors
    for key in ("titles", "literature"):
        params.get("render_report", {}).pop(key, None)
    return params


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path, tops: tuple[str, ...]) -> dict[str, str]:
    """Relative path -> SHA-256 of every file (hidden ones included) under the given folders."""
    out: dict[str, str] = {}
    for top in tops:
        base = root / top
        if base.is_file():
            out[top] = _digest(base)
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() or path.is_symlink():
                rel = str(path.relative_to(root))
                out[rel] = _digest(path) if path.is_file() else f"symlink -> {os.readlink(path)}"
            elif path.is_dir() and path.name.startswith("."):
                out[str(path.relative_to(root)) + "/"] = "hidden folder"
    return out


def _file_size_limit(max_bytes: int):  # type: ignore[no-untyped-def]
    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


@dataclass
class Run:
    """Outcome of one command: exit status, output streams, the stage log and snapshots around it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    log: str
    outputs_before: dict[str, str]
    outputs_after: dict[str, str]
    inputs_before: dict[str, str]
    inputs_after: dict[str, str]

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit {self.returncode}\n--- stdout ---\n{self.stdout[-3000:]}"
            f"\n--- stderr ---\n{self.stderr[-5000:]}"
        )


@dataclass
class Project:
    """A tiny pipeline project rooted at ``root`` (the raw files and params are written on creation)."""

    root: Path
    params: dict[str, Any] = field(default_factory=base_params)
    dataset: str = DATASET

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.write("organizations.csv", ORGANIZATIONS_CSV)
        self.write("panel.csv", PANEL_CSV)
        self.write("environment.csv", ENVIRONMENT_CSV)
        self.save_params()

    # --- files ---------------------------------------------------------------------------------------
    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw" / self.dataset

    @property
    def ds(self) -> dict[str, Any]:
        """The dataset's params entry (edit it, then :meth:`save_params`; :meth:`run` saves too)."""
        return self.params["datasets"][self.dataset]

    def write(self, name: str, content: str | bytes) -> Path:
        """Write a raw file of the dataset (``name`` relative to ``data/raw/<dataset>/``)."""
        path = self.raw / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def save_params(self) -> None:
        text = yaml.safe_dump(self.params, sort_keys=False, allow_unicode=True)
        (self.root / "params.yaml").write_text(text, encoding="utf-8")

    def write_params_text(self, text: str) -> None:
        """Replace params.yaml by raw text (for cases YAML itself must reject); later runs keep it."""
        self.params = {}
        (self.root / "params.yaml").write_text(text, encoding="utf-8")

    def inputs(self) -> dict[str, str]:
        return _tree(self.root, ("data/raw", "params.yaml"))

    def outputs(self) -> dict[str, str]:
        return _tree(self.root, OUTPUT_DIRS)

    def path(self, rel: str) -> Path:
        return self.root / rel

    # --- running -------------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = TIMEOUT, max_file_bytes: int | None = None) -> Run:
        """Run ``python -m pipeline <args>`` in the project with this checkout's code.

        ``max_file_bytes`` caps the size of any file the command writes (RLIMIT_FSIZE): a write beyond it
        fails with ``OSError: File too large``, as on a full or quota-limited disk."""
        if self.params:
            self.save_params()
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        cmd = [sys.executable, "-m", "pipeline", *args]
        out_before, in_before = self.outputs(), self.inputs()
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=None if max_file_bytes is None else _file_size_limit(max_file_bytes),
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{' '.join(args)} hung (no exit within {timeout} s)") from exc
        stage_log = ""
        if len(args) >= 2 and args[0] == "run":
            log_path = self.root / "logs" / args[1] / f"{self.dataset}.log"
            if log_path.exists():
                stage_log = log_path.read_text(encoding="utf-8", errors="replace")
        return Run(
            list(args),
            proc.returncode,
            proc.stdout,
            proc.stderr,
            stage_log,
            out_before,
            self.outputs(),
            in_before,
            self.inputs(),
        )

    def run(
        self,
        stage: str,
        *,
        dataset: str | None = None,
        timeout: float = TIMEOUT,
        max_file_bytes: int | None = None,
    ) -> Run:
        """Run one stage for the dataset."""
        return self.cli(
            "run", stage, "--dataset", dataset or self.dataset, timeout=timeout, max_file_bytes=max_file_bytes
        )

    def run_through(self, stage: str) -> Run:
        """Run the stages ``stage`` needs (each must succeed), then ``stage``; return its run.

        A fitting stage needs the data stages only; ``render_report`` needs every stage."""
        needed = STAGE_ORDER[: STAGE_ORDER.index(stage)]
        if stage != "render_report":
            needed = tuple(s for s in needed if s in STAGE_ORDER[:3])
        for earlier in needed:
            assert_ok(self.run(earlier))
        return self.run(stage)

    def copy(self) -> dict[str, Any]:
        """A deep copy of the current params (to restore after a case)."""
        return copy.deepcopy(self.params)


# --- assertions --------------------------------------------------------------------------------------
def _repeated_lines(text: str) -> list[str]:
    lines = [ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 25]
    return [ln for ln, n in Counter(lines).items() if n > 1]


def assert_ok(run: Run) -> None:
    """Exit 0, no traceback, inputs untouched."""
    assert run.returncode == 0, run.describe()
    assert "Traceback" not in run.output, run.describe()
    assert run.inputs_before == run.inputs_after, f"inputs were modified\n{run.describe()}"


def assert_clean_error(run: Run, *fragments: str, once: bool = True) -> None:
    """A clean input error: non-zero exit, no traceback, every fragment in stderr (case-insensitive), the
    message not printed twice, no output written or changed, no leftover temporary, inputs untouched."""
    text = run.describe()
    assert run.returncode != 0, f"expected an error, got exit 0\n{text}"
    assert "Traceback" not in run.output, f"traceback instead of a message\n{text}"
    low = run.stderr.lower()
    missing = [f for f in fragments if f.lower() not in low]
    assert not missing, f"message lacks {missing}\n{text}"
    if once:
        repeated = _repeated_lines(run.stderr)
        assert not repeated, f"message printed more than once: {repeated[:3]}\n{text}"
    added = sorted(set(run.outputs_after) - set(run.outputs_before))
    changed = sorted(k for k in run.outputs_before if run.outputs_after.get(k) != run.outputs_before[k])
    assert not added and not changed, f"partial output: added {added}, changed/removed {changed}\n{text}"
    assert run.inputs_before == run.inputs_after, f"inputs were modified\n{text}"
