"""Monte Carlo coverage of the founding-model confidence intervals (NB2, density + density²).

Draws ``--reps`` seeded series from :func:`analysis.founding.simulate_founding_series` (known b0, b1, b2,
α on a logistic density path), fits the NB2 density² model with observed-information SEs and reports
how often the 95% Wald CIs of b1 and b2, the delta-method and Fieller CIs of N* and the Wald CI of α
cover the truth, with the binomial Monte Carlo standard error, plus the mean time per fit.

Run:  ``.venv/bin/python benchmarks/founding_coverage.py --reps 500``
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.founding import fit_founding_models, simulate_founding_series  # noqa: E402
from analysis.founding_design import FoundingSpec  # noqa: E402

TRUTH = {"b0": 1.5, "b1": 1.2, "b2": -0.25, "alpha": 0.15, "scale": 100.0}
SPEC = FoundingSpec(steps=(("baseline", ()), ("density2", ("density", "density_sq"))), density_scale=100.0)


def coverage(reps: int, seed0: int = 1000, se_type: str = "observed") -> dict[str, float]:
    """Share of replications whose 95% intervals contain the truth (and the number of usable fits)."""
    n_star_true = -TRUTH["b1"] / (2 * TRUTH["b2"]) * TRUTH["scale"]
    hits = {"b1": 0, "b2": 0, "n_star_delta": 0, "n_star_fieller": 0, "alpha": 0}
    used = 0
    for r in range(reps):
        pop = simulate_founding_series(
            seed=seed0 + r, b0=TRUTH["b0"], b1=TRUTH["b1"], b2=TRUTH["b2"], alpha=TRUTH["alpha"]
        )
        res = fit_founding_models(pop, spec=SPEC, families=("negative_binomial",), se_type=se_type)[-1]
        if not res.fit["converged"]:
            continue
        used += 1
        b1, b2, a = res.term("density"), res.term("density_sq"), res.term("alpha")
        hits["b1"] += b1.ci_low <= TRUTH["b1"] <= b1.ci_high
        hits["b2"] += b2.ci_low <= TRUTH["b2"] <= b2.ci_high
        hits["alpha"] += a.ci_low <= TRUTH["alpha"] <= a.ci_high
        ns = res.derived["n_star"]
        hits["n_star_delta"] += ns["ci_low"] <= n_star_true <= ns["ci_high"]
        fl = ns["fieller"]
        hits["n_star_fieller"] += fl["kind"] == "bounded" and fl["ci_low"] <= n_star_true <= fl["ci_high"]
    out = {k: v / used for k, v in hits.items()} if used else {}
    out["used"] = used
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--se-type", default="observed", choices=["observed", "expected_theta_fixed"])
    args = ap.parse_args()
    t0 = time.perf_counter()
    cov = coverage(args.reps, se_type=args.se_type)
    dt = time.perf_counter() - t0
    used = int(cov.pop("used"))
    mcse = math.sqrt(0.95 * 0.05 / max(used, 1))
    print(
        f"NB2 founding model, {used}/{args.reps} usable fits, SE type {args.se_type}, "
        f"{dt / args.reps * 1000:.1f} ms per replication (simulate + fit)"
    )
    for k, v in cov.items():
        print(f"  coverage of 95% CI for {k:15s}: {v:.3f}  (MC s.e. {mcse:.3f})")


if __name__ == "__main__":
    main()
