"""The HTML report and index page, loaded in headless Chromium: no console errors, every image loads,
every section, table and figure of the report bundle is on the page.

Needs Debian's ``chromium`` (``scripts/system_packages.sh``; ``.ci/run`` installs it). Without it the
browser tests are skipped on a developer's machine and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.data.read import load_truth
from pipeline.stages.render_report import truth_mapping
from reports.collect import load_report_inputs
from reports.html import index_html, report_html
from reports.report import build_bundle, render_report

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results_example"
RESULTS = FIX / "results" / "default"
PROCESSED = FIX / "processed" / "default"
CLEAN = FIX / "interim" / "default" / "clean"
PROVENANCE = {
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "inputs": {"data/raw/default/organizations.csv": "ab" * 32},
    "params": {"fit_founding": {"density_scale": 100}},
    "packages": {"numpy": "2.4.0"},
    "seeds": {"simulate": 20261126},
}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")
if CHROMIUM is None and os.environ.get("CI") == "true":
    pytest.fail("chromium is required under CI=true (.ci/run installs it)", pytrace=False)

#: Appended to a copy of the page under test: after load, every image that did not decode is a console
#: error, and a last line confirms that the check ran.
CHECK = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  for (const im of imgs) { if (!im.complete || im.naturalWidth === 0) console.error("broken image: " + im.src.slice(0, 80)); }
  console.log("orgecology-check images=" + imgs.length);
});
</script>"""


def load_in_chromium(page: Path, tmp: Path) -> tuple[str, list[str]]:
    """The DOM of ``page`` after load and the console messages, from headless Chromium."""
    check = page.with_name(".check-" + page.name)
    check.write_text(
        page.read_text(encoding="utf-8").replace("</body>", CHECK + "\n</body>"), encoding="utf-8"
    )
    run = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            check.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    check.unlink()
    assert run.returncode == 0, run.stderr[-2000:]
    console = re.findall(r":CONSOLE[:(]\d*\)?\] \"(.*?)\", source:", run.stderr)
    return run.stdout, console


def _errors(console: list[str]) -> list[str]:
    return [c for c in console if not c.startswith("orgecology-check")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, dict]:
    from reports.figures import render_figures

    out = tmp_path_factory.mktemp("html")
    inputs = load_report_inputs(RESULTS, PROCESSED, CLEAN)
    records = render_figures(inputs, out / "figures", formats=("svg", "png"))
    truth = truth_mapping(load_truth(FIX / "truth.json"))
    render_report(
        "default",
        inputs,
        out / "report.pdf",
        PROVENANCE,
        truth=truth,
        discussion="街道社会工作服务站的发展出现瓶颈。",
        figures=(out / "figures", records),
        out_html=out / "report.html",
        html_figures="png",
    )
    return out, {"records": records, "truth": truth, "inputs": inputs}


def _bundle(records, truth, inputs) -> dict:
    from reports.assemble import report_tables

    return build_bundle(
        "default",
        report_tables(inputs),
        records,
        inputs.results,
        provenance=PROVENANCE,
        truth=truth,
        discussion="街道社会工作服务站的发展出现瓶颈。",
        not_applicable=inputs.not_applicable,
    )


@needs_chromium
def test_report_loads_without_console_errors_and_shows_everything(rendered, tmp_path):
    out, extra = rendered
    dom, console = load_in_chromium(out / "report.html", tmp_path)
    assert _errors(console) == []
    bundle = _bundle(extra["records"], extra["truth"], extra["inputs"])
    n_tables = sum(b["kind"] == "table" for s in bundle["sections"] for b in s["blocks"])
    n_figures = sum(len(b["row"]) for s in bundle["sections"] for b in s["blocks"] if b["kind"] == "figures")
    assert f"orgecology-check images={n_figures}" in console  # every figure is an image that loaded
    assert n_figures == len(extra["records"]) > 0
    assert dom.count('<table class="orgecology-table">') == n_tables
    for i, sec in enumerate(bundle["sections"], start=1):
        assert f"<h2>{i}. {sec['title']}</h2>" in dom
        assert f'href="#section-{i}"' in dom  # in the table of contents
        for b in sec["blocks"]:
            if b["kind"] == "table":
                assert f'data-stem="{b["stem"]}"' in dom
            elif b["kind"] == "heading":
                assert f"{b['text']}</h3>" in dom
    for rec in extra["records"]:
        assert f'src="figures/{rec["stem"]}.png"' in dom
    assert "Parameters used for this dataset" in dom and "街道社会工作服务站" in dom


@needs_chromium
def test_browser_check_catches_a_broken_image_and_a_script_error(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="missing.png" alt="x"><script>nope();</script></body></html>',
        encoding="utf-8",
    )
    _, console = load_in_chromium(page, tmp_path)
    errors = _errors(console)
    assert any("broken image" in e for e in errors) and any("nope" in e for e in errors)


@needs_chromium
def test_standalone_table_page_and_index_load(rendered, tmp_path):
    from reports.assemble import report_tables, write_tables

    out, extra = rendered
    write_tables(report_tables(extra["inputs"]), out / "tables", formats=("html",))
    dom, console = load_in_chromium(out / "tables" / "founding_nb.html", tmp_path)
    assert _errors(console) == [] and "<style>" in dom and "orgecology-table" in dom
    index = out.parent / "index.html"
    index.write_text(
        index_html(
            [
                {
                    "dataset": "default",
                    "title": "Simulated",
                    "kind": "organizations",
                    "links": {"HTML": f"{out.name}/report.html", "PDF": f"{out.name}/report.pdf"},
                    "counts": {"tables": 3},
                }
            ]
        ),
        encoding="utf-8",
    )
    dom, console = load_in_chromium(index, tmp_path)
    assert _errors(console) == [] and f'href="{out.name}/report.html"' in dom


def test_embedded_figures_make_a_self_contained_page(rendered):
    _, extra = rendered
    bundle = _bundle(extra["records"], extra["truth"], extra["inputs"])
    src = {f"figures/{r['stem']}.svg": "data:image/svg+xml;base64,AAAA" for r in extra["records"]}
    page = report_html(bundle, src)
    assert page.count("data:image/svg+xml;base64,") == len(extra["records"])
    assert "<script" not in page and 'src="http' not in page and "url(" not in page  # nothing fetched
    assert page == report_html(bundle, src)  # deterministic


def test_two_renders_give_identical_html(rendered, tmp_path):
    out, extra = rendered
    again = tmp_path / "again.html"
    render_report(
        "default",
        extra["inputs"],
        tmp_path / "again.pdf",
        PROVENANCE,
        truth=extra["truth"],
        discussion="街道社会工作服务站的发展出现瓶颈。",
        figures=(out / "figures", extra["records"]),
        out_html=again,
        html_figures="png",
    )
    assert again.read_bytes() == (out / "report.html").read_bytes()
