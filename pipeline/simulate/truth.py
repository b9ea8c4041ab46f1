"""The truth of a simulated population: every true parameter under the names the pipeline's models use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.simulate.config import DEATH_REASONS, POLICY_BOOM, POLICY_BOTTLENECK, POLICY_PRE, SimConfig


def truth_dict(cfg: SimConfig, seed: int, yearly: pd.DataFrame, orgs: pd.DataFrame) -> dict[str, Any]:
    """Every true parameter under the names the pipeline's models use, plus the true yearly series.

    Coefficient names follow the spells/population contract: ``density`` (per ``density_scale``
    organizations), ``density_sq`` (per ``density_scale``²), ``density_at_founding`` (per
    ``density_scale``), ``log_size``, ``funding_share``; policy dummies ``boom`` and ``bottleneck`` with
    ``pre`` as reference (formula form ``C(policy_period)[T.boom]`` equals ``boom``).
    """
    win = yearly[(yearly["year"] >= cfg.start) & (yearly["year"] <= cfg.end)]
    pieces = [f"{lo:g}-{hi:g}" for lo, hi in zip((0.0, *cfg.age_breaks[:-1]), cfg.age_breaks, strict=True)]
    pieces.append(f"{cfg.age_breaks[-1]:g}+")
    n_range = [int(win["density"].min()), int(win["density"].max())]
    return {
        "generator": "pipeline.simulate",
        "seed": seed,
        "window": [cfg.start, cfg.end],
        "history_start": cfg.history_start,
        "density_scale": cfg.density_scale,
        "density_note": (
            "x = N / density_scale; N_t = organizations alive on 1 January of year t (founded before t, not "
            "ended before t). Coefficients on density are per density_scale organizations, density_sq per "
            "density_scale squared."
        ),
        "policy_periods": {
            POLICY_PRE: [cfg.history_start, cfg.boom[0] - 1],
            POLICY_BOOM: list(cfg.boom),
            POLICY_BOTTLENECK: list(cfg.bottleneck),
        },
        "founding": {
            "family": "negative_binomial (NB2, Var = mu + alpha*mu^2)",
            "terms": {
                "const": cfg.b0,
                "density": cfg.b1,
                "density_sq": cfg.b2,
                "boom": cfg.c_boom,
                "bottleneck": cfg.c_bneck,
                "procurement_budget": 0.0,
            },
            "alpha": cfg.alpha,
            "n_star": cfg.n_star,
            "n_star_inside_window_range": bool(n_range[0] <= cfg.n_star <= n_range[1]),
        },
        "mortality": {
            "event": "death (end_reason dissolved or deregistered); merged is a competing exit",
            "clock": "age",
            "age_pieces": pieces,
            "baseline_hazard": dict(zip(pieces, cfg.base_hazard, strict=True)),
            "log_baseline_hazard": {
                p: float(np.log(h)) for p, h in zip(pieces, cfg.base_hazard, strict=True)
            },
            "terms": {
                "density": cfg.g_density,
                "density_sq": cfg.g_density_sq,
                "density_at_founding": cfg.g_density_founding,
                "log_size": cfg.g_log_size,
                "funding_share": cfg.g_share,
            },
            "n_min_hazard": cfg.mortality_n_min,
            "death_reason_probs": dict(zip(DEATH_REASONS, cfg.death_reason_probs, strict=True)),
            "covariate_timing": "density, log_size, funding_share constant within calendar year t (year-t panel row)",
        },
        "merger": {
            "hazard": "merge_rate * exp(merge_share * funding_share), constant in age",
            "terms": {
                "const": float(np.log(cfg.merge_rate)) if cfg.merge_rate > 0 else float("-inf"),
                "funding_share": cfg.merge_share,
            },
            "rate": cfg.merge_rate,
        },
        "growth": {
            "equation": (
                "log S[t+1] - log S[t] = a + (beta-1) log S[t] + d1 x[t] + d2 x[t]^2 + gamma share[t] + u_i + "
                "tau_t + eps"
            ),
            "terms": {
                "const": cfg.growth_a,
                "log_size": cfg.growth_log_size,
                "density": cfg.growth_density,
                "density_sq": cfg.growth_density_sq,
                "funding_share": cfg.growth_share,
            },
            "beta": 1.0 + cfg.growth_log_size,
            "sigma_u": cfg.sigma_u,
            "sigma_tau": cfg.sigma_tau,
            "sigma_eps": cfg.sigma_eps,
            "note": (
                "Year fixed effects absorb the density terms (common to all organizations in a year). Staff "
                "are rounded to 2 decimals (FTE) before the next step; the rounding is part of eps."
            ),
        },
        "initial": {
            "size0_meanlog": cfg.size0_meanlog,
            "size0_sdlog": cfg.size0_sdlog,
            "share0_beta": {
                p: list(ab)
                for p, ab in zip((POLICY_PRE, POLICY_BOOM, POLICY_BOTTLENECK), cfg.share0_beta, strict=True)
            },
            "share_drift_logit": dict(
                zip((POLICY_PRE, POLICY_BOOM, POLICY_BOTTLENECK), cfg.share_drift, strict=True)
            ),
            "share_sd_logit": cfg.share_sd,
        },
        "attributes": {
            "districts": dict(zip(cfg.districts, cfg.district_probs, strict=True)),
            "types": dict(zip(cfg.types, cfg.type_probs, strict=True)),
            "note": "district and type have no effect on any rate (true coefficients 0)",
        },
        "counts": {
            "organizations": int(len(orgs)),
            "founded_before_window": int((orgs["founded_year"] < cfg.start).sum()),
            "alive_at_window_start": int(win["density"].iloc[0]) if len(win) else 0,
            "alive_at_window_end": int(win["density_end"].iloc[-1]) if len(win) else 0,
            "deaths_in_window": int(win["deaths"].sum()),
            "merges_in_window": int(win["merges"].sum()),
            "foundings_in_window": int(win["foundings"].sum()),
            "density_range_in_window": n_range,
        },
        "series": {
            col: [int(v) if col != "expected_foundings" else float(v) for v in win[col]]
            for col in (
                "year",
                "density",
                "foundings",
                "deaths",
                "merges",
                "exits",
                "density_end",
                "expected_foundings",
            )
        },
    }
