"""Where every stage reads and writes, per dataset — the only place that spells out output paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RAW = "data/raw/{dataset}"
VALIDATED = "data/interim/{dataset}/validated"
CLEAN = "data/interim/{dataset}/clean"
PROCESSED = "data/processed/{dataset}"
RESULTS = "results/{dataset}/{area}"
REPORT = "reports/out/{dataset}"
#: The index page across datasets (stage ``render_index``).
REPORT_INDEX = "reports/out/index.html"
#: The data of the key curves (DVC plots; small CSVs kept in git like the metrics files).
PLOT_DATA = "plots/{dataset}"
LOG = "logs/{stage}/{dataset}.log"


@dataclass(frozen=True)
class DatasetPaths:
    """Concrete paths of one dataset, relative to the repository root (or ``root``)."""

    dataset: str
    root: Path = Path(".")

    def _p(self, template: str, **kw: str) -> Path:
        return self.root / template.format(dataset=self.dataset, **kw)

    @property
    def raw(self) -> Path:
        return self._p(RAW)

    @property
    def validated(self) -> Path:
        return self._p(VALIDATED)

    @property
    def clean(self) -> Path:
        return self._p(CLEAN)

    @property
    def processed(self) -> Path:
        return self._p(PROCESSED)

    def results(self, area: str) -> Path:
        """Result folder of a fitting stage, e.g. ``results/default/founding``."""
        return self._p(RESULTS, area=area)

    @property
    def report(self) -> Path:
        return self._p(REPORT)

    @property
    def plot_data(self) -> Path:
        return self._p(PLOT_DATA)

    def log(self, stage: str) -> Path:
        return self._p(LOG, stage=stage)
