"""insight.report.build: the report of a real run holds its sections with the run's own numbers, fetches
nothing, and shows data-derived text (a crafted category, column and file name) as text."""

from __future__ import annotations

import dataclasses
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from insight import formatting as fmt
from insight.config import SegmentConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.pipeline import train
from insight.report.build import build_report
from insight.report.template import FIGURES_META, GENERATOR, markdown_html
from insight.runs.manifest import segment_profiles
from insight.runs.run import open_run

EVIL = "<script>alert(1)</script>"
EVIL_COLUMN = "Billing <img src=x onerror=alert(2)> cycle"
EVIL_SOURCE = "<script>alert(3)</script>.csv"


INLINE = ("strong", "b", "em", "i", "span", "a")


class Tags(HTMLParser):
    """Every start tag with its attributes, and each <script>'s text (html.parser reads script bodies as
    text, so strings inside plotly.js or a figure's JSON are not taken for tags)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in INLINE:
            self.text.append(" ")
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def parsed(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    tags.close()
    return tags


def visible(page: Tags) -> str:
    """The page's text as a reader sees it: blocks apart, runs of white space as one space."""
    return re.sub(r"\s+", " ", "".join(page.text))


@pytest.fixture(scope="module")
def report(demo_run: Path) -> str:
    return build_report(demo_run)


def test_the_sections_show_the_runs_own_numbers(report: str, demo_run: Path) -> None:
    run = open_run(demo_run)
    manifest = run.manifest
    page = parsed(report)
    text = visible(page)
    ids = {attrs.get("id") for tag, attrs in page.tags if tag == "section"}
    assert ids == {"overview", "segments", "drivers", "quality"}
    assert fmt.score(manifest.test_metrics["roc_auc"]) in text  # the held-out AUC
    assert f"Churn rate {fmt.pct(manifest.churn_rate)}" in text  # the overview's tile
    assert f"{manifest.source.rows:,} rows" in text and demo_run.name in text
    for profile in segment_profiles(run.json("segments.json")):
        assert profile.name in text
        assert f"{fmt.count(profile.size)} customers ({fmt.pct(profile.share)} of all)" in text
    top = max(manifest.global_importance, key=lambda d: d["mean_abs_shap"])["feature"]
    assert f"{fmt.label(top)}:" in text  # the first sentence "In words" names the strongest driver
    assert "Random split" not in text  # a run trained without --time has no out-of-time table


def test_every_figure_is_drawn_by_the_inline_plotly_js_and_nothing_is_fetched(report: str) -> None:
    page = parsed(report)
    for tag, attrs in page.tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = (attrs.get(name) or "").strip().lower()
            assert not re.match(r"(https?:)?//", value), f"<{tag} {name}={value[:80]}>"
            if value and tag != "a":
                assert value.startswith("data:"), f"<{tag} {name}={value[:80]}>: not inside the file"
    assert not [t for t, _ in page.tags if t in ("link", "iframe", "object", "embed")]
    styles = re.findall(r"<style>(.*?)</style>", report, flags=re.S)
    assert styles and not any(re.search(r"url\(|@import", css) for css in styles)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert all("src" not in attrs for attrs in scripts)
    plotly = [s for s in page.scripts if "plotly.js v" in s[:300]]
    assert len(plotly) == 1 and len(plotly[0]) > 3_000_000  # the bundle itself, once
    figures = int(re.search(rf'<meta name="{FIGURES_META}" content="(\d+)">', report).group(1))
    divs = [attrs for tag, attrs in page.tags
            if tag == "div" and "plotly-graph-div" in (attrs.get("class") or "")]
    assert figures == len(divs) == sum("Plotly.newPlot(" in s for s in page.scripts) == 8
    assert f'<meta name="generator" content="{GENERATOR}">' in report[:4096]
    assert 4_000_000 < len(report.encode()) < 8_000_000  # plotly.js (~4.8 MB) and a few hundred KB of figures


def test_markdown_sentences_become_html_with_their_escapes_undone() -> None:
    assert markdown_html(r"**Plan \<b\>**: '\[x\]\(y\)' raises risk") == \
        "<strong>Plan &lt;b&gt;</strong>: &#x27;[x](y)&#x27; raises risk"
    assert markdown_html("**open") == "<strong>open</strong>"


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run on demo customers whose billing cycle 'monthly' is a script tag, whose billing-cycle
    column's name holds an image tag, and whose data file's name is a script tag."""
    customers = demo_data(rows=800, seed=3).customers
    customers["billing_cycle"] = customers["billing_cycle"].replace({"monthly": EVIL})
    customers = customers.rename(columns={"billing_cycle": EVIL_COLUMN})
    spec = demo_spec()
    spec = dataclasses.replace(spec, actionable=tuple(EVIL_COLUMN if a == "billing_cycle" else a
                                                      for a in spec.actionable))
    config = TrainConfig(seed=0, threads=1,
                         segments=SegmentConfig(fit_sample=800, trustworthiness_sample=800))
    return train(customers, spec, config, runs_dir=tmp_path_factory.mktemp("crafted-runs"),
                 source_name=EVIL_SOURCE)


def test_data_derived_text_shows_as_text(crafted: Path) -> None:
    report = build_report(crafted)
    page = parsed(report)
    text = visible(page)
    assert EVIL in text and EVIL_SOURCE in text and "Billing <img src=x onerror=alert(2)> cycle" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # escaped in the HTML itself
    assert "alert(" not in "".join(json.dumps(a) for _, a in page.tags)  # never an attribute or a tag
    assert f"'{EVIL}'" in text  # the Drivers' sentence about the billing cycle names the crafted value
    figures = [s for s in page.scripts if "Plotly.newPlot(" in s]
    assert figures and any(r"\u003cscript\u003ealert(1)" in s for s in figures)  # the map's hover, a legend
    for script in figures:  # a figure's JSON holds the value with < and > as unicode escapes
        assert "<script" not in script and "<img" not in script


def test_with_an_earlier_run_the_report_says_what_changed(demo_run: Path, changed_demo_run: Path) -> None:
    report = build_report(changed_demo_run, compare=demo_run)
    page = parsed(report)
    text = visible(page)
    ids = [attrs.get("id") for tag, attrs in page.tags if tag == "section"]
    assert ids == ["overview", "segments", "drivers", "quality", "changes"]
    changes = text[text.index("What changed From run"):]
    assert f"From run {demo_run.name} (A, earlier) to run {changed_demo_run.name} (B" in changes
    assert "1,400 customers are in both runs" in changes  # the changed run lost the first 100 customers
    drift_table = report[report.index('id="fig-changes-drift"'):].split("<tbody>", 1)[1]
    assert drift_table.startswith("<tr><td>Logins 30d</td>")  # the halved count drifted most
    figure_ids = [a.get("id") for t, a in page.tags
                  if t == "div" and "plotly-graph-div" in (a.get("class") or "")]
    assert figure_ids[-3:] == ["fig-changes-drift", "fig-changes-risk", "fig-changes-migration"]
    said = re.search(rf'<meta name="{FIGURES_META}" content="(\d+)">', report)
    assert int(said.group(1)) == len(figure_ids)
    assert "Customers who became high-risk" in changes and "Segment migration" in changes


@pytest.mark.parametrize("which", ["all", "as_of_march"])
def test_a_run_trained_on_snapshots_shows_its_out_of_time_metrics(snapshot_runs: dict[str, Path],
                                                                  which: str) -> None:
    run = snapshot_runs[which]
    metrics = open_run(run).manifest.metrics["lightgbm"]
    text = visible(parsed(build_report(run)))
    quality = text[text.index("Model quality Measured on"):]
    row = (f"ROC AUC {fmt.score(metrics['test']['roc_auc'])} {fmt.score(metrics['out_of_time']['roc_auc'])}")
    assert "Random split and out of time" in quality and row in quality
    assert f"snapshot {metrics['out_of_time']['snapshot']}" in quality
