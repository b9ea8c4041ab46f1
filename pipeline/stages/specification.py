"""The effective specification of every model of every dataset (``python -m pipeline check-params``).

The same resolution the stages use (``stage_params`` overrides, nested steps, legacy name lists turned into
formulas), so what is printed is what is fitted and what each result records in
``specification.model_formula``.
"""

from __future__ import annotations

from typing import Any

from analysis.formula import nested_formulas, render_formula
from analysis.formula.growth import growth_formula
from analysis.formula.stagnation import stagnation_formula
from analysis.formula.survival import survival_formulas, without_strata
from analysis.registry import count_family
from pipeline.core.dataset_columns import Columns
from pipeline.core.params import stage_params
from pipeline.stages.fit_bottleneck import exit_rate_spec


def effective_specification(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Dataset → stage → model (or group of models) → formula text, plus the settings that shape them."""
    out: dict[str, dict[str, Any]] = {}
    for name, ds in params["datasets"].items():
        entry: dict[str, Any] = {"kind": ds["kind"]}
        founding = stage_params(params, "fit_founding", name)
        spec = founding["spec"]
        steps = nested_formulas(list(spec["steps"].items()), outcome="foundings")
        panels = founding["panel_group_vars"]
        panels = (ds.get("group_columns") if panels is None else panels) or None
        models = {
            f"{count_family(fam).prefix}_{step}": render_formula(f)
            for fam in founding["families"]
            for step, f in steps
        }
        if panels and ds["kind"] == "organizations":
            models["panel_<group>_<model>"] = "each formula above on subpopulation-years (+ fe(<group>))"
        entry["fit_founding"] = {
            "models": models,
            "subset": spec.get("subset"),
            "panels": panels,
            "period_column": spec.get("period_column"),
            "period_reference": spec.get("period_reference"),
            "density_scale": ds.get("density_scale"),
        }
        if ds["kind"] == "organizations":
            surv = stage_params(params, "fit_survival", name)
            formulas = survival_formulas(surv)
            others = without_strata(formulas[-1][1])
            models = {f"cox_{step}": render_formula(f) for step, f in formulas}
            models["piecewise_exponential"] = others + f" (age pieces {surv['age_pieces']})"
            models["discrete_cloglog"] = others + f" (age pieces {surv['age_pieces']})"
            for dist in surv["parametric"]:
                models[dist] = others
            for dist in surv["aft"]:
                models[f"aft_{dist}"] = others + " (accelerated failure time)"
            models["cox_cause_<kind>"] = render_formula(formulas[-1][1]) + " (event: exit of that kind)"
            entry["fit_survival"] = {
                "models": models,
                "se_type": surv["se_type"],
                "ties": surv["cox"]["ties"],
            }
            if Columns.of(ds).has_size:
                growth = stage_params(params, "fit_growth", name)
                text = render_formula(growth_formula(growth))
                entry["fit_growth"] = {
                    "models": {m: text for m in ("gibrat_pooled", "gibrat_org_fe", "gibrat_twoway_fe")},
                    "effects": {
                        "gibrat_pooled": "none",
                        "gibrat_org_fe": "org_id",
                        "gibrat_twoway_fe": "org_id + year",
                    },
                    "k_convention": growth["k_convention"],
                }
        bottleneck = stage_params(params, "fit_bottleneck", name)
        eq = bottleneck["equilibrium"]
        prefix = count_family(eq["family"]).prefix
        exits = exit_rate_spec(
            ds.get("density_scale", "auto"), bottleneck["exit_rate"]["steps"]
        ).model_formulas()
        models = {f"exit_rate_{prefix}_{step}": text for step, text in exits.items()}
        models["equilibrium_density"] = (
            f"{prefix}_{eq['founding_step']} (founding) = exit_rate_{prefix}_{eq['founding_step']} (exits)"
        )
        block: dict[str, Any] = {"models": models}
        if ds["kind"] == "organizations" and Columns.of(ds).has_size:
            st = bottleneck["stagnation"]
            text = render_formula(stagnation_formula(st))
            models["stagnation_hazard"] = (
                f"{text} (event: first of {st['k']} years with growth < {st['threshold']:g})"
            )
            models["dissolution_hazard"] = f"{text} (event: dissolution, competing with stagnation)"
        entry["fit_bottleneck"] = block
        out[name] = entry
    return out


def format_specification(spec: dict[str, dict[str, Any]]) -> str:
    """Plain-text listing: one block per dataset, one line per model."""
    lines: list[str] = []
    for name, entry in spec.items():
        lines.append(f"{name} ({entry['kind']})")
        for stage, block in entry.items():
            if stage == "kind":
                continue
            settings = {k: v for k, v in block.items() if k != "models" and v is not None}
            extra = "  [" + ", ".join(f"{k}: {v}" for k, v in settings.items()) + "]" if settings else ""
            lines.append(f"  {stage}{extra}")
            width = max(len(m) for m in block["models"])
            for model, text in block["models"].items():
                lines.append(f"    {model.ljust(width)}  {text}")
        lines.append("")
    return "\n".join(lines)
