"""``python -m pipeline.simulate --out data/raw/default --seed 20261126``: regenerate the bundled raw files."""

from __future__ import annotations

import argparse

from pipeline.simulate.files import write_dataset
from pipeline.simulate.population import DEFAULT_SEED


def main(argv: list[str] | None = None) -> None:
    """Command line: write the bundled raw files (``--out``) from ``--seed``."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.simulate",
        description="Write the bundled default dataset's raw files from the documented simulator.",
    )
    parser.add_argument("--out", default="data/raw/default", help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the simulation and the mess")
    args = parser.parse_args(argv)
    written = write_dataset(args.out, seed=args.seed)
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
