"""Publication figures drawn only from result files and derived data (matplotlib, Agg backend).

Each ``*_figure`` function takes data frames or result dictionaries and returns a matplotlib Figure, so
figures can be tested without files; :func:`render_figures` writes them as vector PDF, SVG and PNG,
atomically and byte-for-byte reproducibly (fixed SVG hash salt, no creation dates or software strings in
the metadata). Chinese labels (organization names, districts) fall back to Noto Sans SC, see
``reports.fonts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pipeline.core.io import atomic_path  # noqa: E402
from reports import fonts  # noqa: E402
from reports.collect import ReportInputs, cif_frame, km_frame  # noqa: E402

#: Output formats and their deterministic metadata (no dates, no version strings).
METADATA: dict[str, dict[str, Any]] = {
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
    "png": {"Software": None},
}
FIG_FORMATS: tuple[str, ...] = ("pdf", "svg", "png")
_SIZE = (6.0, 3.8)
_DPI = 200


def setup_matplotlib(cache_dir: str | None = None) -> None:
    """Deterministic rendering settings plus the CJK fallback font."""
    fonts.configure_matplotlib(cache_dir)
    matplotlib.rcParams.update(
        {
            "svg.hashsalt": "orgecology",
            "svg.fonttype": "path",
            "pdf.fonttype": 42,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.frameon": False,
            "figure.dpi": 100,
            "font.size": 9,
        }
    )


def _new(size: tuple[float, float] = _SIZE) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _curve(result: Mapping[str, Any], name: str) -> pd.DataFrame:
    return pd.DataFrame(result["curves"][name])


def _est(obj: Any) -> float | None:
    if isinstance(obj, Mapping):
        obj = obj.get("estimate", obj.get("value"))
    return None if obj is None else float(obj)


def population_figure(
    population: pd.DataFrame, *, title: str = "", size: tuple[float, float] = _SIZE
) -> Figure:
    """Density on 1 January (line) with foundings and exits per year (bars, right axis)."""
    fig, ax = _new(size)
    pop = population.sort_values("year")
    ax.plot(pop["year"], pop["density"], color="black", lw=1.5, label="Density N (1 January)")
    ax.set_xlabel("Year")
    ax.set_ylabel("Density (organizations)")
    handles, labels = ax.get_legend_handles_labels()
    has_f = "foundings" in pop and pop["foundings"].notna().any()
    has_e = "exits" in pop and pop["exits"].notna().any()
    if has_f or has_e:
        ax2 = ax.twinx()
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        if has_f:
            ax2.bar(
                pop["year"] - 0.2, pop["foundings"], width=0.4, color="tab:blue", alpha=0.6, label="Foundings"
            )
        if has_e:
            ax2.bar(pop["year"] + 0.2, pop["exits"], width=0.4, color="tab:red", alpha=0.6, label="Exits")
        ax2.set_ylabel("Foundings / exits per year")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper left")
    if title:
        ax.set_title(title)
    return fig


def multiplier_figure(
    result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE
) -> Figure:
    """Founding multiplier exp(b1 N + b2 N²) over the observed density range, N* and its CI marked."""
    fig, ax = _new(size)
    cur = _curve(result, "multiplier").sort_values("density")
    ax.fill_between(
        cur["density"], cur["ci_low"], cur["ci_high"], color="tab:blue", alpha=0.2, lw=0, label="95% CI"
    )
    ax.plot(cur["density"], cur["multiplier"], color="tab:blue", lw=1.5, label="Founding multiplier")
    nstar = result.get("derived", {}).get("n_star")
    if isinstance(nstar, Mapping) and nstar.get("estimate") is not None:
        est = float(nstar["estimate"])
        if nstar.get("ci_low") is not None and nstar.get("ci_high") is not None:
            ax.axvspan(
                float(nstar["ci_low"]),
                float(nstar["ci_high"]),
                color="tab:orange",
                alpha=0.12,
                lw=0,
                label="95% CI of N*",
            )
        ax.axvline(est, color="tab:orange", ls="--", lw=1.2, label=f"N* = {est:.1f}")
    rng = nstar.get("density_range") if isinstance(nstar, Mapping) else None
    lo, hi = rng if rng else (cur["density"].min(), cur["density"].max())
    ax.axvline(float(lo), color="grey", lw=0.8, ls=":")
    ax.axvline(float(hi), color="grey", lw=0.8, ls=":", label="Observed density range")
    ax.set_xlabel("Density N (organizations)")
    ax.set_ylabel("Multiplier of the founding rate")
    ax.legend(loc="best")
    ax.set_title(title or f"Founding multiplier ({result['model']})")
    return fig


def _profile_label(profile: Mapping[str, Any]) -> str:
    n = profile.get("density")
    if profile.get("quantile") is None:
        return "All covariates at means" + (f" (N = {n:.0f})" if n is not None else "")
    return f"N at its {100 * profile['quantile']:.0f}th percentile (N = {n:.0f})"


def predicted_survival_figure(
    result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE
) -> Figure:
    """Predicted survival S(t | x0) of each covariate profile (step functions) with 95% bands; a stratified
    model draws its strata (at most four) in line styles, bands only for one stratum."""
    fig, ax = _new(size)
    cur = _curve(result, "predicted_survival")
    labels = {p["profile"]: _profile_label(p) for p in result.get("derived", {}).get("profiles", [])}
    strata = list(dict.fromkeys(cur["stratum"]))[:4]
    styles = ("-", "--", ":", "-.")
    for i, (profile, g) in enumerate(cur.groupby("profile", sort=False)):
        color = f"C{i % 10}"
        for j, stratum in enumerate(strata):
            s = g[g["stratum"] == stratum].sort_values("time")
            label = labels.get(profile, str(profile)) + (f", {stratum}" if len(strata) > 1 else "")
            ax.step(s["time"], s["survival"], where="post", color=color, ls=styles[j], lw=1.3, label=label)
            if len(strata) == 1:
                ax.fill_between(
                    s["time"], s["ci_low"], s["ci_high"], step="post", color=color, alpha=0.15, lw=0
                )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Age (years)")
    ax.set_ylabel("Survival probability")
    ax.legend(loc="upper right", fontsize=7 if len(strata) > 1 else 8)
    source = (result.get("specification") or {}).get("source_model") or result["model"]
    ax.set_title(title or f"Predicted survival ({source})")
    return fig


def mortality_multiplier_figure(
    result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE
) -> Figure:
    """Mortality multiplier exp(g1 N + g2 N²) over the observed density range, the density of extreme
    mortality N* (lowest for a U) and its CI marked, clipped to the range, when the Cox model reports it."""
    fig, ax = _new(size)
    cur = _curve(result, "mortality_multiplier").sort_values("density")
    ax.fill_between(
        cur["density"], cur["ci_low"], cur["ci_high"], color="tab:red", alpha=0.2, lw=0, label="95% CI"
    )
    ax.plot(cur["density"], cur["multiplier"], color="tab:red", lw=1.5, label="Mortality multiplier")
    tp = result.get("derived", {}).get("turning_point")
    if isinstance(tp, Mapping) and tp.get("estimate") is not None:
        est = float(tp["estimate"])
        lo, hi = cur["density"].min(), cur["density"].max()
        if tp.get("ci_low") is not None and tp.get("ci_high") is not None:
            ax.axvspan(
                max(float(tp["ci_low"]), lo),
                min(float(tp["ci_high"]), hi),
                color="tab:orange",
                alpha=0.12,
                lw=0,
                label="95% CI of N*",
            )
        if lo <= est <= hi:
            ax.axvline(est, color="tab:orange", ls="--", lw=1.2, label=f"N* = {est:.1f}")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("Density N (organizations)")
    ax.set_ylabel("Multiplier of the death rate")
    ax.legend(loc="best")
    source = (result.get("specification") or {}).get("source_model") or result["model"]
    ax.set_title(title or f"Mortality multiplier ({source})")
    return fig


def km_figure(result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE) -> Figure:
    """Kaplan–Meier survival by group (step functions) with 95% confidence bands."""
    fig, ax = _new(size)
    km = km_frame(result)
    groups = list(km.groupby("group", sort=False))
    many = len(groups) > 6  # bands of many groups hide each other: curves only, a compact legend
    cmap = matplotlib.colormaps["viridis"]
    for i, (group, g) in enumerate(groups):
        g = g.sort_values("time")
        color = cmap(i / max(1, len(groups) - 1)) if many else f"C{i % 10}"
        ax.step(
            g["time"], g["survival"], where="post", color=color, lw=1.0 if many else 1.3, label=str(group)
        )
        if not many:
            ax.fill_between(g["time"], g["ci_low"], g["ci_high"], step="post", color=color, alpha=0.15, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Age (years)")
    ax.set_ylabel("Survival probability")
    if len(groups) > 1:
        ax.legend(
            loc="center left" if many else "upper right",
            bbox_to_anchor=(1.0, 0.5) if many else None,
            title=str(result.get("specification", {}).get("group", "")) or None,
            ncol=2 if len(groups) > 12 else 1,
            fontsize=6 if many else 8,
            title_fontsize=7,
        )
    ax.set_title(title or "Kaplan\u2013Meier survival")
    return fig


def hazard_by_age_figure(
    result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE
) -> Figure:
    """Piecewise-constant hazard by age piece with 95% CIs (horizontal segments over each piece)."""
    fig, ax = _new(size)
    hz = _curve(result, "hazard_by_age").rename(columns={"age_from": "age_start", "age_to": "age_end"})
    hz = hz.astype({"age_start": float, "age_end": float, "hazard": float, "ci_low": float, "ci_high": float})
    starts = hz["age_start"].to_numpy()
    ends = hz["age_end"].to_numpy()
    last_width = float(np.nanmax(np.diff(starts))) if len(starts) > 1 else 1.0
    ends = np.where(np.isnan(ends), starts + last_width, ends)
    for s, e, h, lo, hi in zip(starts, ends, hz["hazard"], hz["ci_low"], hz["ci_high"], strict=True):
        ax.fill_between([s, e], [lo, lo], [hi, hi], color="tab:red", alpha=0.18, lw=0)
        ax.plot([s, e], [h, h], color="tab:red", lw=1.6)
    ax.set_xticks(np.r_[starts, ends[-1]])
    open_ended = bool(np.isnan(hz["age_end"].iloc[-1]))
    labels = [f"{s:g}" for s in starts] + ["\u221e" if open_ended else f"{ends[-1]:g}"]
    ax.set_xticklabels(labels)
    ax.set_xlabel("Age (years)" + ("; last piece open-ended" if open_ended else ""))
    ax.set_ylabel("Hazard of death (per year)")
    ax.set_ylim(bottom=0)
    ax.set_title(title or "Mortality hazard by age piece, 95% CI")
    return fig


def logistic_figure(
    result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE
) -> Figure:
    """Observed density and the fitted logistic curve with its band, K and the year of 90% of K."""
    fig, ax = _new(size)
    cur = _curve(result, "logistic")
    ax.scatter(cur["year"], cur["observed"], s=10, color="black", label="Observed density", zorder=3)
    ax.fill_between(
        cur["year"], cur["ci_low"], cur["ci_high"], color="tab:green", alpha=0.2, lw=0, label="95% CI"
    )
    ax.plot(cur["year"], cur["fitted"], color="tab:green", lw=1.5, label="Logistic fit")
    derived = result.get("derived", {})
    k, t90 = _est(derived.get("K")), _est(derived.get("t90"))
    if k is None:
        k = next(
            (float(t["coef"]) for t in result.get("terms", []) if t["term"] == "K" and t["coef"] is not None),
            None,
        )
    if k is not None:
        ax.axhline(k, color="tab:green", ls="--", lw=1, label=f"K = {k:.1f}")
    if t90 is not None:
        ax.axvline(t90, color="tab:purple", ls=":", lw=1.2, label=f"90% of K reached: {t90:.1f}")
    ax.set_xlabel("Year")
    ax.set_ylabel("Density (organizations)")
    ax.legend(loc="upper left")
    ax.set_title(title or "Carrying capacity: logistic growth of density")
    return fig


def cif_figure(result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE) -> Figure:
    """Cumulative incidence (Aalen–Johansen) of each competing cause with 95% CIs."""
    fig, ax = _new(size)
    cif = cif_frame(result)
    for i, (cause, g) in enumerate(cif.groupby("cause", sort=False)):
        g = g.sort_values("time")
        color = f"C{i % 10}"
        label = str(cause).replace("competing:", "competing exit: ")
        ax.step(g["time"], g["estimate"], where="post", color=color, lw=1.4, label=label)
        if {"ci_low", "ci_high"} <= set(g.columns):
            ax.fill_between(g["time"], g["ci_low"], g["ci_high"], step="post", color=color, alpha=0.15, lw=0)
    ax.set_ylim(0, 1)
    ax.set_xlabel(str(result.get("specification", {}).get("cif_time_label", "Age (years)")))
    ax.set_ylabel("Cumulative incidence")
    ax.legend(loc="upper left")
    ax.set_title(title or "Cumulative incidence of competing exits")
    return fig


def growth_figure(
    org_years: pd.DataFrame,
    result: Mapping[str, Any] | None = None,
    *,
    bins: int = 20,
    title: str = "",
    size: tuple[float, float] = _SIZE,
) -> Figure:
    """Growth (Δ log size) against log size: a thinned scatter, binned means with 95% CIs and, when a
    Gibrat result is given, its slope (β − 1) through the binned means' centre. Survivors only."""
    fig, ax = _new(size)
    d = org_years.dropna(subset=["growth", "log_size"])
    step = max(1, len(d) // 3000)
    ax.scatter(
        d["log_size"].iloc[::step],
        d["growth"].iloc[::step],
        s=3,
        color="grey",
        alpha=0.3,
        lw=0,
        label="Organization-years" + (f" (every {step}th)" if step > 1 else ""),
    )
    edges = np.quantile(d["log_size"], np.linspace(0, 1, bins + 1))
    idx = np.clip(np.searchsorted(edges, d["log_size"], side="right") - 1, 0, bins - 1)
    g = d.groupby(idx)
    mean, sem, x = g["growth"].mean(), g["growth"].sem(), g["log_size"].mean()
    ax.errorbar(x, mean, yerr=1.96 * sem, fmt="o", ms=3, color="tab:blue", label="Binned mean, 95% CI")
    if result is not None:
        for t in result.get("terms", []):
            if t["term"] == "log_size" and t.get("coef") is not None:
                xs = np.array([x.min(), x.max()])
                centre = float(d["log_size"].mean())
                ax.plot(
                    xs,
                    float(d["growth"].mean()) + t["coef"] * (xs - centre),
                    color="tab:red",
                    lw=1.3,
                    label=f"Slope \u03b2\u22121 = {t['coef']:.3f} ({result['model']})",
                )
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("log size")
    ax.set_ylabel("Growth (\u0394 log size, next year)")
    ax.legend(loc="upper right")
    ax.set_title(title or "Growth versus size (survivors only)")
    return fig


def supf_figure(result: Mapping[str, Any], *, title: str = "", size: tuple[float, float] = _SIZE) -> Figure:
    """Sequence of Chow F statistics over candidate break years, the sup-F break year marked."""
    fig, ax = _new(size)
    cur = _curve(result, "f_stat")
    ycol = "f_stat" if "f_stat" in cur else [c for c in cur.columns if c != "year"][0]
    ax.plot(cur["year"], cur[ycol], marker="o", ms=3, color="black", lw=1.2, label="F statistic")
    derived = result.get("derived", {})
    brk = _est(derived.get("break_year"))
    crit = _est(derived.get("critical_value_5pct"))
    if crit is None and isinstance(derived.get("critical_values"), Mapping):
        crit = _est(derived["critical_values"].get("0.05"))
    if brk is not None:
        ax.axvline(brk, color="tab:red", ls="--", lw=1.2, label=f"Break year (sup-F): {brk:.0f}")
    if crit is not None:
        ax.axhline(crit, color="grey", ls=":", lw=1, label=f"5% critical value = {crit:.2f}")
    ax.set_xlabel("Candidate break year")
    ax.set_ylabel("F statistic")
    ax.legend(loc="best")
    from reports.selection import series_label

    ax.set_title(title or f"Structural break: {series_label(result)}")
    return fig


#: Figure makers for curve kinds found in result files: curve name -> (function, file stem suffix, caption).
CURVE_FIGURES: dict[str, tuple[Any, str]] = {
    "multiplier": (multiplier_figure, "Founding multiplier over density with N* and its 95% CI"),
    "km": (km_figure, "Kaplan\u2013Meier survival curves by group, 95% CIs"),
    "hazard_by_age": (hazard_by_age_figure, "Hazard of death by age piece, 95% CIs"),
    "logistic": (logistic_figure, "Fitted logistic curve of density with K and the year of 90% of K"),
    "cif": (cif_figure, "Cumulative incidence of competing exits (Aalen\u2013Johansen), 95% CIs"),
    "f_stat": (supf_figure, "Sup-F sequence over candidate break years"),
}


#: Size of a figure set beside another one (two per row in the report): fonts stay legible when halved.
HALF_SIZE = (4.2, 3.2)


def translate_figure(fig: Figure, tr: Any) -> Figure:
    """Translate the words drawn in ``fig`` (titles, axis labels, legend title and entries, annotations)
    with a :class:`reports.i18n.Translator`; numbers and names stay as drawn."""
    if tr.language == "en":
        return fig
    for ax in fig.axes:
        ax.set_title(tr(ax.get_title()))
        ax.set_xlabel(tr(ax.get_xlabel()))
        ax.set_ylabel(tr(ax.get_ylabel()))
        legend = ax.get_legend()
        if legend is not None:
            legend.get_title().set_text(tr(legend.get_title().get_text()))
            for text in legend.get_texts():
                text.set_text(tr(text.get_text()))
        for text in ax.texts:
            text.set_text(tr(text.get_text()))
    return fig


def build_figures(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    population: pd.DataFrame | None = None,
    org_years: pd.DataFrame | None = None,
    language: str = "en",
) -> list[tuple[str, Figure, str]]:
    """The figures of one dataset as ``(stem, figure, caption)``, in report order.

    ``language`` (``en``, ``zh``) translates the words drawn inside each figure (titles, axis labels,
    legend entries and annotations; :func:`translate_figure`); captions stay in English here and are
    translated with the report's other words.

    Only headline models get a figure: the founding multiplier of the largest converged NB model with
    both density terms (else Poisson) at the population level and per subpopulation panel variable; the
    Kaplan–Meier curves of each grouping; the predicted survival by profile and the mortality multiplier of
    the headline Cox model; the hazard by age piece of each age-piece model; the cumulative
    incidence of death versus competing exits; growth against size; the logistic curve with K; the sup-F
    sequence of each tested series; the cumulative incidence of stagnation versus dissolution. The
    bottleneck stage's exit-rate models get none (they are not founding models). Stems listed in
    :func:`is_half_width` are drawn at :data:`HALF_SIZE` to stand two per row.
    """
    from reports.figure_plan import plan_figures

    out: list[tuple[str, Figure, str]] = []

    from reports.i18n import Translator

    tr = Translator(language)

    def add(stem: str, fn: Any, caption: str, *args: Any, full: bool = False) -> None:
        size = HALF_SIZE if is_half_width(stem) and not full else _SIZE
        out.append((stem, translate_figure(fn(*args, size=size), tr), caption))

    if population is not None and len(population) and population["density"].notna().any():
        parts = ["Density on 1 January"] + [
            f"{col} per year"
            for col in ("foundings", "exits")
            if col in population and population[col].notna().any()
        ]
        add(
            "population",
            population_figure,
            ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0],
            population,
        )
    drawers = {
        "multiplier_figure": multiplier_figure,
        "km_figure": km_figure,
        "predicted_survival_figure": predicted_survival_figure,
        "mortality_multiplier_figure": mortality_multiplier_figure,
        "hazard_by_age_figure": hazard_by_age_figure,
        "cif_figure": cif_figure,
        "growth_figure": growth_figure,
        "logistic_figure": logistic_figure,
        "supf_figure": supf_figure,
    }
    for planned in plan_figures(results, org_years):
        add(planned.stem, drawers[planned.drawer], planned.caption, *planned.args, full=planned.full)
    return out


_HALF_PREFIXES = (
    "founding_multiplier",
    "survival_km_",
    "survival_predicted_",
    "survival_mortality_multiplier_",
    "survival_hazard_",
    "survival_cif",
    "bottleneck_",
)


def is_half_width(stem: str) -> bool:
    """Whether the figure ``stem`` is small enough to stand beside another one in the report."""
    return stem.startswith(_HALF_PREFIXES)


def save_figure(
    fig: Figure, stem: str | Path, formats: Sequence[str] = FIG_FORMATS, dpi: int = _DPI
) -> list[Path]:
    """Save ``fig`` as ``stem.pdf``/``.svg``/``.png`` atomically with fixed metadata."""
    written = []
    # The layout engine re-runs on every save and can shift by sub-pixels after a vector save, so the
    # raster is always drawn first: a PNG then has the same bytes whatever other formats are requested.
    for f in sorted(formats, key=lambda x: x != "png"):
        path = Path(stem).with_suffix(f".{f}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=f, dpi=dpi, metadata=METADATA[f])
        written.append(path)
    return written


def render_figures(
    inputs: ReportInputs,
    out_dir: str | Path,
    *,
    formats: Sequence[str] = FIG_FORMATS,
    font_cache_dir: str | None = None,
    language: str = "en",
) -> list[dict[str, str]]:
    """Draw every figure of a dataset's loaded report inputs and write it to ``out_dir`` (PDF, SVG, PNG),
    the words inside the figures in ``language``.

    Returns one record per figure (``stem``, ``caption``, and the path of each format) for the report.
    """
    setup_matplotlib(font_cache_dir)
    figs = build_figures(
        inputs.results,
        population=inputs.population,
        org_years=inputs.org_years,
        language=language,
    )
    records = []
    for stem, fig, caption in figs:
        paths = save_figure(fig, Path(out_dir) / stem, formats)
        plt.close(fig)
        records.append(
            {
                "stem": stem,
                "caption": caption,
                "width": "half" if fig.get_figwidth() <= HALF_SIZE[0] else "full",
                **{p.suffix[1:]: str(p) for p in paths},
            }
        )
    return records
