"""The HTML report of one dataset and the index page across datasets, laid out from the report bundle.

The page shows what the PDF shows, from the same bundle (:func:`reports.report.build_bundle`): numbered
sections with a table of contents, the tables as styled HTML (the same strings as ``tables/<stem>.html``),
the figures inline and the params appendix. Pages are static (no scripts, no web fonts, nothing fetched
from the network) and byte-stable: the same bundle gives the same bytes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from reports.render import TABLE_CSS, html_page

REPORT_CSS = (
    """\
body { font-family: "Libertinus Serif", "Noto Serif", Georgia, "Noto Sans SC", serif; color: #111;
  max-width: 60em; margin: 0 auto; padding: 1.5em 2em 4em; line-height: 1.45; }
header h1 { font-size: 1.7em; margin-bottom: 0.1em; }
header .dataset { color: #444; margin-top: 0; }
nav.toc { border: 1px solid #ccc; background: #fafafa; padding: 0.6em 1.4em; margin: 1.2em 0 2em; }
nav.toc h2 { font-size: 1.1em; margin: 0.3em 0; }
nav.toc ol { list-style: none; padding-left: 1.2em; margin: 0.2em 0; }
nav.toc > ol { padding-left: 0; }
nav.toc a { text-decoration: none; color: #0645ad; }
section { margin-top: 2.2em; }
h2 { font-size: 1.35em; border-bottom: 1px solid #ddd; padding-bottom: 0.15em; }
h3 { font-size: 1.12em; }
.list-title { font-weight: 600; margin: 0.8em 0 0.2em; }
ul.items { font-size: 0.92em; }
p.absent { font-style: italic; color: #444; }
.table-wrap { overflow-x: auto; }
figure { margin: 1.2em 0; text-align: center; }
figure img { max-width: 88%; height: auto; }
.figure-row { display: flex; gap: 1em; }
.figure-row figure { flex: 1; }
.figure-row figure img { max-width: 100%; }
figcaption { font-size: 0.9em; text-align: left; margin-top: 0.3em; }
pre.params { font-size: 0.75em; background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
table.index { border-collapse: collapse; }
table.index th, table.index td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
"""
    + TABLE_CSS
)


def _esc(text: Any) -> str:
    return html.escape(str(text))


def _paragraphs(texts: Sequence[str]) -> list[str]:
    return [f"<p>{_esc(p)}</p>" for p in texts]


class _Counter:
    """Running numbers of tables and figures, in document order (as the PDF numbers them)."""

    def __init__(self) -> None:
        self.table = 0
        self.figure = 0


def _figure(item: Mapping[str, str], src: str, counter: _Counter, labels: Mapping[str, str]) -> str:
    counter.figure += 1
    n = counter.figure
    return (
        f'<figure id="figure-{n}"><img src="{_esc(src)}" alt="{_esc(item["caption"])}">'
        f"<figcaption><strong>{_esc(labels['figure'])} {n}{_esc(labels['colon'])}</strong>"
        f"{_esc(item['caption'])}</figcaption></figure>"
    )


def _block(
    b: Mapping[str, Any],
    figure_src: Mapping[str, str],
    counter: _Counter,
    anchor: str,
    labels: Mapping[str, str],
) -> str:
    if b["kind"] == "heading":
        return f'<h3 id="{anchor}">{_esc(b["number"])} {_esc(b["text"])}</h3>'
    if b["kind"] == "table":
        counter.table += 1
        number = f"{labels['table']} {counter.table}"
        body = b["html"].replace(
            "<caption>", f'<caption><span class="number">{_esc(number)}{_esc(labels["colon"])}</span>', 1
        )
        return (
            f'<div class="table-wrap" id="table-{counter.table}" data-stem="{_esc(b["stem"])}">{body}</div>'
        )
    row = b["row"]
    figs = [_figure(f, figure_src[f["path"]], counter, labels) for f in row]
    if len(figs) == 1:
        return figs[0]
    return '<div class="figure-row">' + "".join(figs) + "</div>"


def _numbered(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sections with their numbers ("1", "1.1") and anchors, as the PDF numbers its headings."""
    out = []
    for i, sec in enumerate(bundle["sections"], start=1):
        subs, blocks = [], []
        for b in sec["blocks"]:
            if b["kind"] == "heading":
                k = len(subs) + 1
                b = {**b, "number": f"{i}.{k}", "anchor": f"section-{i}-{k}"}
                subs.append(b)
            blocks.append(b)
        out.append({**sec, "number": str(i), "anchor": f"section-{i}", "blocks": blocks, "subs": subs})
    return out


def report_html(bundle: Mapping[str, Any], figure_src: Mapping[str, str]) -> str:
    """The HTML report of one dataset.

    Parameters
    ----------
    bundle
        The report bundle (:func:`reports.report.build_bundle`); its table blocks carry ``html``.
    figure_src
        For each figure path of the bundle, the ``src`` of its image in the page: a path relative to the
        page (``figures/population.png``) or a ``data:`` URI.
    """
    labels = {
        "contents": "Contents",
        "table": "Table",
        "figure": "Figure",
        "dataset": "Dataset",
        "colon": ": ",
    }
    labels.update(bundle.get("labels", {}))
    sections = _numbered(bundle)
    appendix = [
        {**a, "number": chr(ord("A") + j), "anchor": f"appendix-{chr(ord('a') + j)}"}
        for j, a in enumerate(bundle.get("appendix", []))
    ]
    toc = [f'<nav class="toc"><h2>{_esc(labels["contents"])}</h2><ol>']
    for sec in sections:
        toc.append(f'<li><a href="#{sec["anchor"]}">{sec["number"]}. {_esc(sec["title"])}</a>')
        if sec["subs"]:
            toc.append("<ol>")
            toc += [
                f'<li><a href="#{s["anchor"]}">{s["number"]} {_esc(s["text"])}</a></li>' for s in sec["subs"]
            ]
            toc.append("</ol>")
        toc.append("</li>")
    for a in appendix:
        toc.append(f'<li><a href="#{a["anchor"]}">{a["number"]}. {_esc(a["title"])}</a></li>')
    toc.append("</ol></nav>")

    counter = _Counter()
    body = [
        f"<header><h1>{_esc(bundle['title'])}</h1>",
        f'<p class="dataset">{_esc(labels["dataset"])}{_esc(labels["colon"])}{_esc(bundle["dataset"])}</p></header>',
        *toc,
        *_paragraphs(bundle.get("intro", [])),
    ]
    for sec in sections:
        body.append(f'<section id="{sec["anchor"]}"><h2>{sec["number"]}. {_esc(sec["title"])}</h2>')
        body += _paragraphs(sec["text"])
        for lst in sec.get("lists", []):
            body.append(f'<p class="list-title">{_esc(lst["title"])}</p><ul class="items">')
            body += [f"<li>{_esc(item)}</li>" for item in lst["items"]]
            body.append("</ul>")
        if not sec["present"]:
            body.append(f'<p class="absent">{_esc(sec["absent_text"])}</p>')
        body += [_block(b, figure_src, counter, b.get("anchor", ""), labels) for b in sec["blocks"]]
        body.append("</section>")
    for a in appendix:
        body.append(f'<section id="{a["anchor"]}"><h2>{a["number"]}. {_esc(a["title"])}</h2>')
        body += _paragraphs(a["text"])
        body.append(f'<pre class="params"><code>{_esc(a["code"])}</code></pre></section>')
    return html_page(bundle["title"], "\n".join(body) + "\n", REPORT_CSS, lang=bundle.get("language", "en"))


def index_html(entries: Sequence[Mapping[str, Any]], title: str = "Organizational ecology reports") -> str:
    """The index page across datasets: one row per dataset with its title, kind and links to its reports.

    Each entry holds ``dataset``, ``title``, ``kind``, ``links`` ({label: relative path}) and ``counts``
    ({label: number}, e.g. tables and figures).
    """
    rows = []
    for e in entries:
        links = " · ".join(f'<a href="{_esc(href)}">{_esc(label)}</a>' for label, href in e["links"].items())
        counts = ", ".join(f"{n} {_esc(label)}" for label, n in e.get("counts", {}).items())
        rows.append(
            f'<tr id="dataset-{_esc(e["dataset"])}"><td>{_esc(e["dataset"])}</td><td>{_esc(e["title"])}</td>'
            f"<td>{_esc(e['kind'])}</td><td>{counts}</td><td>{links}</td></tr>"
        )
    body = (
        f"<header><h1>{_esc(title)}</h1></header>\n"
        '<table class="index"><thead><tr><th>Dataset</th><th>Title</th><th>Kind</th><th>Contents</th>'
        "<th>Reports</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
    )
    return html_page(title, body, REPORT_CSS)
