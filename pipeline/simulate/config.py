"""Configuration of the simulated social-work population: every true parameter and the policy periods
(:class:`SimConfig`), and the constants of the bundled dataset. See :mod:`pipeline.simulate.population`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

#: Seed of the bundled ``default`` dataset (also ``seed`` in params.yaml).
DEFAULT_SEED = 20261126

POLICY_PRE = "pre"
POLICY_BOOM = "boom"
POLICY_BOTTLENECK = "bottleneck"

DEATH_REASONS = ("dissolved", "deregistered")

#: Guard against explosive founding parameters (e.g. b2 >= 0): more foundings a year is an error.
MAX_FOUNDINGS_PER_YEAR = 5e7
MERGED = "merged"


@dataclass(frozen=True)
class SimConfig:
    """All true parameters of the simulated population (defaults give the bundled ``default`` dataset).

    Density enters every model as x = N / ``density_scale``; coefficients named ``density`` are per
    ``density_scale`` organizations and ``density_sq`` per ``density_scale``² (the pipeline's
    ``density_scale: 100`` in params.yaml). Use :meth:`scaled` for replicas k times larger with the
    same dynamics (density scale and founding intercept scaled together).

    Attributes
    ----------
    start, end : int
        Observation window (published panel and environment years; the founding series refit uses it).
    history_start : int
        First year of the process; organizations founded before ``start`` are left-truncated.
    density_scale : float
        s in x = N / s.
    boom, bottleneck : tuple[int, int]
        Inclusive year ranges of the policy periods (``pre`` before the boom).
    b0, b1, b2, c_boom, c_bneck, alpha : float
        Founding model: log λ = b0 + b1·x + b2·x² + c_boom·boom + c_bneck·bottleneck; NB2 dispersion α.
    age_breaks : tuple[float, ...]
        Inner boundaries of the age pieces of the baseline death hazard (years).
    base_hazard : tuple[float, ...]
        Baseline death hazard per age piece (per year) at x = xf = log S = share = 0.
    g_density, g_density_sq, g_density_founding, g_log_size, g_share : float
        Log hazard ratios of death: g1·x + g2·x² + g3·xf + g4·log S + g5·share.
    death_reason_probs : tuple[float, float]
        Probabilities that a death is recorded as ``dissolved`` / ``deregistered`` (independent of
        covariates, so both are deaths with the same hazard model).
    merge_rate, merge_share : float
        Competing exit ``merged``: hazard merge_rate·exp(merge_share·share), constant in age.
    growth_a, growth_log_size, growth_density, growth_density_sq, growth_share : float
        Gibrat growth: a, (β − 1), d1, d2, γ.
    sigma_u, sigma_tau, sigma_eps : float
        Standard deviations of the organization effect, the year effect and the idiosyncratic error.
        σ_u = σ_τ = 0 by default: with σ_u > 0 pooled OLS is biased (u_i is in log S_t) and the
        within estimator has the Nickell bias anyway; with σ_τ > 0 the density terms carry year-level
        noise that organization-clustered SEs ignore (docs/simulator.md, caveats).
    size0_meanlog, size0_sdlog : float
        Lognormal staff size at founding.
    share0_beta : tuple[tuple[float, float], ...]
        Beta(a, b) of the funding share at founding for pre / boom / bottleneck foundings.
    share_drift : tuple[float, float, float]
        Yearly drift of logit(share) in the pre / boom / bottleneck periods.
    share_sd : float
        Standard deviation of the yearly logit(share) innovation (a nuisance parameter of no model; its
        value 0.23 was chosen with the bundled draw in view, see docs/simulator.md).
    revenue_per_staff, revenue_sdlog : float
        Revenue (10k yuan) = staff · revenue_per_staff · lognormal noise; a measure, no model.
    districts, district_probs, types, type_probs : tuple
        Static attributes drawn at founding (no effect on any rate: their true coefficients are 0).
    """

    start: int = 1990
    end: int = 2024
    history_start: int = 1970
    density_scale: float = 100.0
    boom: tuple[int, int] = (2008, 2016)
    bottleneck: tuple[int, int] = (2017, 2024)
    # founding
    b0: float = 2.4
    b1: float = 0.4
    b2: float = -0.02
    c_boom: float = 1.2
    c_bneck: float = -0.5
    alpha: float = 0.02
    # mortality
    age_breaks: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)
    base_hazard: tuple[float, ...] = (0.14, 0.115, 0.095, 0.08, 0.07)
    g_density: float = -0.15
    g_density_sq: float = 0.009
    g_density_founding: float = 0.03
    g_log_size: float = -0.3
    g_share: float = 0.8
    death_reason_probs: tuple[float, float] = (0.65, 0.35)
    merge_rate: float = 0.004
    merge_share: float = 1.0
    # growth
    growth_a: float = 0.2
    growth_log_size: float = -0.08
    growth_density: float = 0.03
    growth_density_sq: float = -0.002
    growth_share: float = -0.2
    sigma_u: float = 0.0
    sigma_tau: float = 0.0
    sigma_eps: float = 0.15
    size0_meanlog: float = 1.6
    size0_sdlog: float = 0.5
    # funding share
    share0_beta: tuple[tuple[float, float], ...] = ((2.0, 5.0), (4.0, 3.0), (5.0, 2.0))
    share_drift: tuple[float, float, float] = (0.0, 0.25, 0.05)
    share_sd: float = 0.23
    # revenue, environment
    revenue_per_staff: float = 8.0
    revenue_sdlog: float = 0.15
    budget_base: float = 5.0
    budget_pre_growth: float = 0.04
    budget_boom_growth: float = 0.30
    budget_bneck_growth: float = -0.01
    budget_sdlog: float = 0.04
    # attributes
    districts: tuple[str, ...] = ("dongcheng", "xicheng", "nanshan", "beihu", "jiangkou", "xingang")
    district_probs: tuple[float, ...] = (0.25, 0.20, 0.18, 0.15, 0.12, 0.10)
    types: tuple[str, ...] = ("social_work_agency", "association", "foundation")
    type_probs: tuple[float, ...] = (0.55, 0.30, 0.15)

    def scaled(self, factor: float) -> SimConfig:
        """A replica ``factor`` times larger with identical dynamics in x = N / s.

        Multiplying the density scale by ``factor`` and adding log(factor) to the founding intercept
        leaves every rate as a function of x unchanged, so the expected population is ``factor`` times
        larger (e.g. ``factor=250`` gives roughly a million organizations).
        """
        return dataclasses.replace(
            self, density_scale=self.density_scale * factor, b0=self.b0 + float(np.log(factor))
        )

    def period_of(self, years: np.ndarray) -> np.ndarray:
        """Policy period code per year: 0 = pre, 1 = boom, 2 = bottleneck."""
        years = np.asarray(years)
        code = np.zeros(years.shape, dtype=np.int8)
        code[(years >= self.boom[0]) & (years <= self.boom[1])] = 1
        code[(years >= self.bottleneck[0]) & (years <= self.bottleneck[1])] = 2
        return code

    def founding_rate(self, density: np.ndarray | float, year: np.ndarray | int) -> np.ndarray:
        """Expected foundings λ_t at density N (raw units) in ``year`` (the true NB2 mean)."""
        x = np.asarray(density, dtype=float) / self.density_scale
        period = self.period_of(np.asarray(year))
        eta = (
            self.b0
            + self.b1 * x
            + self.b2 * x**2
            + self.c_boom * (period == 1)
            + self.c_bneck * (period == 2)
        )
        with np.errstate(over="ignore"):  # explosive parameters give inf, caught by simulate_population
            return np.exp(eta)

    @property
    def n_star(self) -> float:
        """Density (raw units) at which the founding rate peaks: N* = −b1·s / (2·b2) (NaN unless b2 < 0)."""
        return -self.b1 * self.density_scale / (2.0 * self.b2) if self.b2 < 0 else float("nan")

    @property
    def mortality_n_min(self) -> float:
        """Density (raw units) at which the death hazard is lowest: −g1·s / (2·g2) (NaN unless g2 > 0)."""
        return (
            -self.g_density * self.density_scale / (2.0 * self.g_density_sq)
            if self.g_density_sq > 0
            else float("nan")
        )
