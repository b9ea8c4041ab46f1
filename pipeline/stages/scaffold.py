"""``python -m pipeline new-dataset FILE... [--name d]``: a commented ``datasets:`` entry to review.

The files are read with the project's own reader (:func:`pipeline.data.read.read_table`) and sniffed
(:mod:`pipeline.data.sniff`); :func:`dataset_entry` writes the entry as YAML text whose comments say what
was guessed, from what, and what to check. params.yaml itself is never edited: paste the entry under
``datasets:`` and run ``python -m pipeline check-params --dataset <d>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.core.params import RAW_ROOT
from pipeline.data.read import read_table
from pipeline.data.sniff import ColumnGuess, TableGuess, sniff_table

PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
#: Words YAML 1.1 (PyYAML) reads as booleans or null: always quoted.
YAML_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none"})
DEATH_WORDS = ("dissol", "dead", "death", "deregist", "closed", "注销", "撤销", "解散", "吊销")
COMPETING_WORDS = ("merg", "integrat", "replac", "acqui", "合并", "并入", "分立")
CENSORING_WORDS = ("moved", "transfer", "迁出", "迁移", "relocat")


class ScaffoldError(ValueError):
    """The files do not make a dataset: no register and no population series among them."""


def q(value: str) -> str:
    """A YAML scalar for a column name or path: plain when it is an identifier or a simple relative path
    (and no YAML boolean or null), else double-quoted."""
    plain = PLAIN.match(value) and value.lower() not in YAML_WORDS
    return value if plain else json.dumps(value, ensure_ascii=False)


def _qlist(values: list[str]) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


def _map(pairs: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {q(v)}" for k, v in pairs.items()) + "}"


def guess_end_reason(label: str) -> tuple[str, str]:
    """The event kind of one end-reason label and why (death unless the label says merger or move)."""
    low = label.lower()
    if any(w in low for w in COMPETING_WORDS):
        return "competing", "reads as merger/succession"
    if any(w in low for w in CENSORING_WORDS):
        return "censoring", "reads as a move out of the population"
    if any(w in low for w in DEATH_WORDS):
        return "death", "reads as dissolution"
    return "death", "no cue in the label: CHECK"


def raw_path(file: str, name: str) -> tuple[str, str | None]:
    """The path to declare and, when the file is not under ``data/raw/<name>/``, what to do about it."""
    p = Path(file)
    base = RAW_ROOT / name
    if not p.is_absolute() and ".." not in p.parts and base in p.parents:
        return p.as_posix(), None
    target = (base / p.name).as_posix()
    folder = p.resolve().parent.as_posix()
    return target, (
        f"{file} is outside {base}/: copy it to {target} (the folder the runners hash), or keep it where "
        f"it is and declare that folder: `raw_root: {folder}` with `path: {p.resolve().as_posix()}` "
        "(hashed as an input all the same; the report says the file is not in git)"
    )


def _column_notes(t: TableGuess) -> list[str]:
    lines = [f"# {t.file}: {len(t.columns)} columns, read as role '{t.role}'"]
    for c in t.columns:
        extra = ""
        if c.kind == "date":
            extra = " precision " + ", ".join(f"{k} {v}" for k, v in c.precision.items())
            extra += f"; forms: {', '.join(c.date_forms) or 'mixed'}"
            if c.unparsed:
                extra += f"; CHECK not read as dates: {', '.join(c.unparsed)}"
        elif c.minimum is not None:
            extra = f" {c.minimum:g}..{c.maximum:g}"
        elif c.levels:
            extra = " levels " + ", ".join(c.levels[:6]) + (" …" if len(c.levels) > 6 else "")
        lines.append(f"#   {c.name}: {c.kind}, {c.n_unique} distinct, {c.n_missing} missing;{extra}")
    return lines


def _date_named(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in ("date", "日期", "found", "成立", "注销", "dead", "death"))


def _role_comment(t: TableGuess, key: str) -> str:
    return f"{key} = {t.roles[key]} ({t.why[key]})"


def _window(years: list[int]) -> tuple[int, int]:
    """The years seen in the data; two years at least (params refuse a one-year window)."""
    if not years:
        return 2000, 2020
    return min(years), max(max(years), min(years) + 1)


def _years(t: TableGuess, key: str) -> list[int]:
    col = t.column(t.roles[key]) if key in t.roles else None
    if col is None or col.minimum is None:
        return []
    return [int(col.minimum), int(col.maximum)]


def _attributes(t: TableGuess) -> list[ColumnGuess]:
    used = set(t.roles.values())
    return [c for c in t.columns if c.name not in used and c.kind == "category"]


def _organizations_block(t: TableGuess, name: str, out: list[str], notes: list[str]) -> None:
    path, move = raw_path(t.file, name)
    if move:
        notes.append(move)
    cols = {k: t.roles[k] for k in ("org_id", "founded", "ended", "end_reason") if k in t.roles}
    out.append("    organizations:")
    out.append(f"      path: {q(path)}")
    for key in cols:
        out.append(f"      # {_role_comment(t, key)}")
    if "ended" not in cols:
        out.append("      # no end-date column found: every organization is right-censored (CHECK)")
    out.append(f"      columns: {_map(cols)}")
    flags = [
        c.name
        for c in t.columns
        if c.kind == "integer"
        and (c.minimum, c.maximum) == (0.0, 1.0)
        and c.name not in cols.values()
        and any(w in c.name.lower() for w in DEATH_WORDS + COMPETING_WORDS + CENSORING_WORDS)
    ]
    if flags and "end_reason" not in cols:
        pairs = ", ".join(f"{q(f)}: {q(f)}" for f in flags)
        out.append(
            "      # 0/1 columns that may code how an organization ended; to use them (the first flag set names"
        )
        out.append(
            "      # the reason, so put succession flags before death flags), uncomment and map each reason"
        )
        out.append(f"      # under end_reasons (CHECK): end_reason_flags: {{{pairs}}}")
    attrs = [c.name for c in _attributes(t)]
    out.append("      # attributes: low-cardinality text columns (kept in organizations and spells)")
    out.append(f"      attributes: {_qlist(attrs)}")
    numbers = [c.name for c in t.columns if c.kind in ("integer", "number") and _date_named(c.name)]
    if numbers:
        out.append(
            f"      # CHECK: {', '.join(numbers)} hold plain numbers under a date-like name; if they are dates,"
        )
        out.append(
            "      # map them in columns and say what the numbers count: date_epoch: stata | spss | excel | unix …"
        )


def _reasons(frame_levels: tuple[str, ...], out: list[str]) -> None:
    if not frame_levels:
        out.append("    end_reasons: {}")
        return
    out.append(
        "    # each end reason -> death | competing | censoring; guessed from the label (CHECK every one)"
    )
    out.append("    end_reasons:")
    for label in frame_levels:
        kind, why = guess_end_reason(label)
        out.append(f"      {q(label)}: {kind}    # {why}")


def _panel_block(t: TableGuess, name: str, out: list[str], notes: list[str]) -> dict[str, str]:
    path, move = raw_path(t.file, name)
    if move:
        notes.append(move)
    measures: dict[str, str] = {}
    scale: dict[str, str] = {}
    if "size" in t.roles:
        measures["size"] = t.roles["size"]
    for c in t.columns:
        if c.kind in ("share", "percent") and "funding_share" not in measures:
            measures["funding_share"] = c.name
            if c.kind == "percent":
                scale["funding_share"] = "percent"
    out.append("    panel:")
    out.append(f"      path: {q(path)}")
    out.append(f"      # {_role_comment(t, 'org_id')}; {_role_comment(t, 'year')}")
    out.append(f"      columns: {_map({'org_id': t.roles['org_id'], 'year': t.roles['year']})}")
    if "size" in measures:
        out.append(f"      # size = {measures['size']} ({t.why['size']}): the size measure of growth models")
    if "funding_share" in measures:
        out.append(
            f"      # funding_share = {measures['funding_share']}: values in [0, 1] or percent (CHECK)"
        )
    out.append(f"      measures: {_map(measures)}")
    if scale:
        out.append("      # values 0-100, most above 1: read as percent and divided by 100")
        out.append(f"      scale: {_map(scale)}")
    return measures


def _environment_block(t: TableGuess, name: str, out: list[str], notes: list[str]) -> None:
    path, move = raw_path(t.file, name)
    if move:
        notes.append(move)
    year = t.roles["year"]
    covs = [c.name for c in t.columns if c.name != year and c.kind in ("integer", "number", "share")]
    cats = [c.name for c in t.columns if c.name != year and c.kind == "category"]
    out.append("    environment:")
    out.append(f"      path: {q(path)}")
    out.append(f"      columns: {{year: {q(year)}}}")
    out.append(f"      covariates: {_qlist(covs)}")
    out.append(f"      categorical: {_qlist(cats)}")


def _models_block(measures: dict[str, str], out: list[str]) -> None:
    """Model overrides using only the terms this dataset has (the global blocks name funding_share)."""
    controls = [t for t, m in (("log_size", "size"), ("funding_share", "funding_share")) if m in measures]
    head = " + ".join(controls) if controls else "density + density_sq"
    density_step = "+ density + density_sq" if controls else "+ density_at_founding"
    out.append(
        "    # the global model blocks name panel measures this dataset may lack; these use its own terms"
    )
    out.append("    models:")
    out.append("      fit_survival:")
    out.append("        steps:")
    out.append(f"          controls: Surv(start, stop, event) ~ {head} + cluster(org_id)")
    out.append(f"          density: {density_step}")
    if controls:
        out.append("          full: + density_at_founding")
    if "size" in measures:
        rhs = " + ".join(["log_size", "density", "density_sq", *controls[1:]])
        out.append("      fit_growth:")
        out.append(f"        formula: growth ~ {rhs} + cluster(org_id)")
        out.append("      fit_bottleneck:")
        out.append(
            f'        stagnation: {{k: 3, threshold: 0.0, formula: "~ {" + ".join([*controls[1:], "density", "density_sq", "log_size"])} + cluster(org_id)"}}'
        )


def _population_block(t: TableGuess, name: str, out: list[str], notes: list[str]) -> None:
    path, move = raw_path(t.file, name)
    if move:
        notes.append(move)
    cols = {k: t.roles[k] for k in ("year", "density", "foundings", "exits") if k in t.roles}
    keep = [c.name for c in t.columns if c.name not in cols.values()]
    out.append("    population:")
    out.append(f"      path: {q(path)}")
    for key in cols:
        out.append(f"      # {_role_comment(t, key)}")
    if "foundings" not in cols:
        out.append(
            "      # no foundings column found: founding models will not apply (add foundings: COLUMN)"
        )
    out.append(f"      columns: {_map(cols)}")
    out.append("      # other columns kept beside the series (flags, sources, sub-counts)")
    out.append(f"      keep: {_qlist(keep)}")
    end = any(w in cols.get("density", "").lower() for w in ("end", "年末", "年底"))
    out.append(
        "      # CHECK: year-end counts (most annual bulletins) are end_of_year; counts on 1 January start_of_year"
    )
    out.append(f"      density_timing: {'end_of_year' if end else 'start_of_year'}")


def dataset_entry(name: str, tables: list[TableGuess], *, reason_levels: tuple[str, ...] = ()) -> str:
    """The commented YAML of one ``datasets:`` entry (indented to paste under ``datasets:``)."""
    by_role: dict[str, TableGuess] = {}
    unknown: list[TableGuess] = []
    for t in tables:
        role = (
            "environment"
            if t.role == "population" and any(x.role == "organizations" for x in tables)
            else t.role
        )
        if role in by_role or role == "unknown":
            unknown.append(t)
        else:
            by_role[role] = t
    if "organizations" not in by_role and "population" not in by_role:
        found = "; ".join(f"{t.file}: {', '.join(f'{c.name} ({c.kind})' for c in t.columns)}" for t in tables)
        raise ScaffoldError(
            "no register (an identifier column and a founding-date column) and no population series (a column "
            f"of unique whole years and a count column) among the files — columns found: {found}"
        )
    kind = "organizations" if "organizations" in by_role else "population"
    years: list[int] = []
    if kind == "organizations":
        years += _years(by_role["organizations"], "founded") + _years(by_role["organizations"], "ended")
        if "panel" in by_role:
            years += _years(by_role["panel"], "year")
    elif "population" in by_role:
        years += _years(by_role["population"], "year")
    start, end = _window(years)
    out = [
        "# generated by `python -m pipeline new-dataset` — review every line marked CHECK, then paste under",
        "# `datasets:` in params.yaml and run `python -m pipeline check-params --dataset " + name + "`.",
    ]
    for t in tables:
        out += _column_notes(t)
    for t in unknown:
        out.append(
            f"# {t.file}: role not recognized (no id + date, id + year or year + count columns): left out"
        )
    notes: list[str] = []
    body: list[str] = []
    body.append(f"  {name}:")
    body.append(f"    description: {json.dumps('TODO: what the data are and where they come from')}")
    body.append(f"    kind: {kind}")
    body.append(
        "    # window: the years observed in the data (CHECK: the years the source covers completely)"
    )
    body.append(f"    window: {{start: {start}, end: {end}}}")
    if kind == "organizations":
        org = by_role["organizations"]
        body.append("    # where month- or year-precision dates are placed inside their period")
        body.append("    date_rule: midpoint")
        _organizations_block(org, name, body, notes)
        measures: dict[str, str] = {}
        if "panel" in by_role:
            measures = _panel_block(by_role["panel"], name, body, notes)
        if "environment" in by_role:
            _environment_block(by_role["environment"], name, body, notes)
        _reasons(reason_levels, body)
        body.append("    # subpopulations for group-level density and founding panels: any of the attributes")
        body.append("    group_columns: []")
        body.append("    density_scale: 100")
        _models_block(measures, body)
    elif "population" in by_role:
        _population_block(by_role["population"], name, body, notes)
        body.append(
            "    # density enters the models divided by this (about the largest count's order of magnitude)"
        )
        pop = by_role["population"]
        top = pop.column(pop.roles["density"]).maximum if "density" in pop.roles else None
        body.append(f"    density_scale: {_scale(top)}")
    for n in notes:
        out.append(f"# CHECK: {n}")
    return "\n".join(out + body) + "\n"


def _scale(top: float | None) -> int:
    if not top or top <= 0:
        return 100
    scale = 1
    while scale * 10 <= top:
        scale *= 10
    return max(scale, 1)


def new_dataset_text(files: list[str], name: str) -> str:
    """Read and sniff ``files`` and return the commented entry (the I/O edge of the scaffold)."""
    tables = []
    levels: tuple[str, ...] = ()
    for f in files:
        frame = read_table(f)
        guess = sniff_table(frame, f)
        tables.append(guess)
        if guess.role == "organizations" and "end_reason" in guess.roles:
            levels = guess.column(guess.roles["end_reason"]).levels
    return dataset_entry(name, tables, reason_levels=levels)


def default_name(files: list[str]) -> str:
    """A dataset name from the first file's folder (``data/raw/my_ngos/x.csv`` → ``my_ngos``) or stem."""
    p = Path(files[0])
    raw = p.parent.name if p.parent.name and p.parent.parent.name == "raw" else p.stem
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", raw).strip("_") or "my_dataset"
    return cleaned if cleaned[0].isalpha() else f"d_{cleaned}"
