"""The console of one stage run: one line per stage and dataset, warnings that stand out, a live status for
stages that take more than a few seconds — and nothing else.

* The stage's log file (``logs/<stage>/<dataset>.log``) receives every record at INFO and above, the
  project's and third-party libraries' alike (fontTools' thousands of "pruned ..." subsetting messages,
  Python warnings raised inside libraries), so a run can be audited without flooding the terminal.
* The console (stderr) receives the project's warnings (the first :data:`MAX_CONSOLE_WARNINGS` of a stage;
  all of them are in the log file and in the result files) and errors, marked ``⚠ warning`` / ``✗ error``
  (bold yellow / red on a terminal), and at the end one line per stage and dataset:
  ``✓ fit_founding  default  2.7 s  [12/33]  3 warnings → logs/fit_founding/default.log``.
* On a terminal, a stage still running after :data:`LIVE_AFTER` seconds shows a transient rich progress
  line (spinner, elapsed time, its latest INFO message). Parallel jobs (Snakemake, DVC) share the
  terminal: a file lock lets only one of them draw at a time. ``ORGECOLOGY_PROGRESS=0`` turns it off.
* ``ORGECOLOGY_JOBS_TOTAL`` and ``ORGECOLOGY_JOBS_DONE`` (a counter file), set by
  ``scripts/run_pipeline.sh``, add the ``[k/n]`` count of finished jobs to the final line.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.text import Text

#: Seconds after which a running stage shows its live status line.
LIVE_AFTER = 2.0
#: Warnings of one stage printed on the console; the rest are counted there and kept in the log file.
MAX_CONSOLE_WARNINGS = 8
_OWN = ("pipeline", "analysis", "reports")


def _is_own(record: logging.LogRecord, stages: set[str]) -> bool:
    top = record.name.split(".")[0]
    return top in _OWN or record.name in stages


class _ConsoleHandler(logging.Handler):
    """Project warnings and errors (and any library error) to the console, styled; counts warnings."""

    def __init__(self, console: Console, stages: set[str]) -> None:
        super().__init__(logging.WARNING)
        self.console = console
        self.stages = stages
        self.warnings = 0
        self.library_warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        own = _is_own(record, self.stages)
        if record.levelno < logging.ERROR and not own:
            self.library_warnings += 1  # e.g. py.warnings from statsmodels: in the log file only
            return
        try:
            msg = record.getMessage()
        except Exception:  # pragma: no cover - a broken log call must not kill the stage
            msg = str(record.msg)
        if record.levelno >= logging.ERROR:
            line = Text.assemble(("✗ error ", "bold red"), (f"{record.name}: ", "red"), msg)
        else:
            self.warnings += 1
            if self.warnings > MAX_CONSOLE_WARNINGS:
                return  # the rest only in the log file; the stage's final line gives the count
            line = Text.assemble(("⚠ warning ", "bold yellow"), (f"{record.name}: ", "yellow"), msg)
        self.console.print(line, soft_wrap=True)


class _LiveStatus:
    """A transient one-line rich progress display, drawn by at most one process at a time."""

    def __init__(self, console: Console, label: str, lock_path: Path) -> None:
        self.console = console
        self.label = label
        self.lock_path = lock_path
        self.latest = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock_fd: int | None = None
        self._t0 = time.perf_counter()

    def start(self) -> None:
        self._thread.start()

    def _try_lock(self) -> bool:
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _run(self) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        if self._stop.wait(LIVE_AFTER):
            return
        while not self._try_lock():
            if self._stop.wait(0.5):
                return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[latest]}", style="dim"),
            console=self.console,
            transient=True,
        )
        task = progress.add_task(self.label, total=None, latest="")
        with progress:
            while not self._stop.wait(0.25):
                progress.update(task, latest=self.latest[:60])

    def info(self, message: str) -> None:
        self.latest = message.splitlines()[0] if message else ""

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None


class _LatestInfo(logging.Handler):
    def __init__(self, live: _LiveStatus) -> None:
        super().__init__(logging.INFO)
        self.live = live

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.live.info(f"{record.name}: {record.getMessage()}")


def _bump_counter(path: Path) -> int:
    """Increment the shared finished-jobs counter under a file lock; return the new count."""
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        text = fh.read().strip()
        done = (int(text) if text.isdigit() else 0) + 1
        fh.seek(0)
        fh.truncate()
        fh.write(f"{done}\n")
    return done


class StageConsole:
    """Logging and console of one ``python -m pipeline run <stage> --dataset <d>`` (a context manager)."""

    def __init__(
        self,
        stage: str,
        dataset: str,
        log_path: Path,
        stream: IO[str] | None = None,
        own_loggers: tuple[str, ...] = (),
    ) -> None:
        self.stage = stage
        self.dataset = dataset
        self.log_path = Path(log_path)
        stream = stream if stream is not None else sys.stderr
        self.console = Console(file=stream, highlight=False, soft_wrap=True, emoji=False)
        self._handlers: list[logging.Handler] = []
        self._live: _LiveStatus | None = None
        self._t0 = time.perf_counter()
        self._console_handler = _ConsoleHandler(self.console, {stage, *own_loggers})

    def __enter__(self) -> StageConsole:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(self.log_path, mode="w", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        file_handler.setLevel(logging.INFO)
        self._handlers = [file_handler, self._console_handler]
        if self.console.is_terminal and os.environ.get("ORGECOLOGY_PROGRESS", "1") != "0":
            self._live = _LiveStatus(
                self.console, f"{self.stage} {self.dataset}", self.log_path.parent.parent / ".console.lock"
            )
            self._handlers.append(_LatestInfo(self._live))
            self._live.start()
        logging.basicConfig(level=logging.INFO, handlers=self._handlers, force=True)
        logging.captureWarnings(True)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live is not None:
            self._live.stop()
        logging.captureWarnings(False)
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()

    def finished(self, ok: bool) -> str:
        """Print (and return) the one line that says how the stage went."""
        if self._live is not None:
            self._live.stop()
        seconds = time.perf_counter() - self._t0
        parts = [f"{self.stage:<16} {self.dataset:<28} {seconds:6.1f} s"]
        counter = os.environ.get("ORGECOLOGY_JOBS_DONE")
        total = os.environ.get("ORGECOLOGY_JOBS_TOTAL")
        if counter and total:
            with contextlib.suppress(OSError, ValueError):
                parts.append(f"[{_bump_counter(Path(counter))}/{int(total)}]")
        notes = []
        h = self._console_handler
        if h.warnings:
            shown = min(h.warnings, MAX_CONSOLE_WARNINGS)
            more = f" ({h.warnings - shown} not shown)" if h.warnings > shown else ""
            notes.append(f"{h.warnings} warning{'s' if h.warnings != 1 else ''}{more}")
        if h.library_warnings:
            notes.append(f"{h.library_warnings} library warning{'s' if h.library_warnings != 1 else ''}")
        if notes or not ok:
            parts.append(f"{', '.join(notes) or 'failed'} → {self.log_path.as_posix()}")
        mark, style = ("✓", "bold green") if ok else ("✗", "bold red")
        line = Text.assemble((f"{mark} ", style), "  ".join(parts))
        self.console.print(line, soft_wrap=True)
        logging.getLogger(self.stage).info(
            "dataset %s: %s in %.1f s", self.dataset, "done" if ok else "failed", seconds
        )
        return line.plain
