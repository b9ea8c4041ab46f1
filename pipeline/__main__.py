"""``python -m pipeline``: the command line of the pipeline (see :mod:`pipeline.stages.cli`)."""

import sys

from pipeline.stages.cli import main

sys.exit(main())
