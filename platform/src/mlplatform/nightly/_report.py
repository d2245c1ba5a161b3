"""The nightly report: ``nightly-<timestamp>.json`` and a self-contained ``.html`` beside it.

Both go to ``<home>/reports/``; the HTML links each pipeline's log and the Metaflow cards
copied into ``<home>/reports/nightly-<timestamp>/``, so the folder and the two files can be
moved together and read anywhere.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mlplatform.nightly._run import NightlyReport, PipelineResult

__all__ = ["report_document", "write_report"]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.passed { color: #11772d; font-weight: 600; } .failed, .timeout, .interrupted { color: #b3261e;
 font-weight: 600; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: 12px; }
.summary { font-size: 1.1em; }
"""


def report_document(report: NightlyReport) -> dict[str, Any]:
    """The report as JSON-able data (the ``.json`` file's content)."""
    return {
        "started_at": report.started_at,
        "size": report.size,
        "seconds": report.seconds,
        "passed": report.passed,
        "interrupted": report.interrupted,
        "failures": report.failures(),
        "pipelines": [{**asdict(result), "passed": result.passed} for result in report.pipelines],
    }


def _status(passed: bool | str) -> str:
    label = passed if isinstance(passed, str) else ("passed" if passed else "failed")
    return f'<span class="{html.escape(label)}">{html.escape(label)}</span>'


def _pipeline_section(result: PipelineResult, folder: str) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(check.name)}</td><td>{_status(check.passed)}</td>"
        f"<td>{e(str(check.value)) if check.value is not None else ''}</td>"
        f"<td>{e(check.expected)}</td><td>{e(check.detail)}</td></tr>"
        for check in result.checks
    )
    parts = [
        f'<h2 id="{e(result.pipeline)}">{e(result.pipeline)} — {_status(result.status)} '
        f"in {result.seconds:.0f} s</h2>",
    ]
    if result.error:
        parts.append(f"<p><b>Error:</b> {e(result.error)}</p>")
    parts.append(
        "<table><tr><th>check</th><th>result</th><th>value</th><th>expected</th>"
        f"<th>detail</th></tr>{rows}</table>"
        if rows
        else "<p>No check was recorded.</p>"
    )
    if result.figures:
        figures = "".join(
            f"<tr><td>{e(f['name'])}</td><td>{e(str(f['value']))}{e(f.get('unit', ''))}</td></tr>"
            for f in result.figures
        )
        parts.append(f"<table><tr><th>figure</th><th>value</th></tr>{figures}</table>")
    if result.stages:
        stages = "".join(
            f"<tr><td>{e(s['name'])}</td><td>{s['seconds']} s</td>"
            f"<td>{_status(bool(s['ok']))}</td></tr>"
            for s in result.stages
        )
        parts.append(f"<table><tr><th>stage</th><th>time</th><th>result</th></tr>{stages}</table>")
    links = [f'<a href="{e(folder)}/{e(result.log)}">output log</a>']
    links += [
        f'<a href="{e(folder)}/cards/{e(card["path"])}">card: {e(card["run"])} '
        f"{e(card['step'])}</a>"
        for card in result.cards
    ]
    parts.append("<p>" + " · ".join(links) + "</p>")
    if result.traceback:
        parts.append(f"<pre>{e(result.traceback)}</pre>")
    return "\n".join(parts)


def _html(report: NightlyReport, folder: str) -> str:
    e = html.escape
    overview = "".join(
        f'<tr><td><a href="#{e(r.pipeline)}">{e(r.pipeline)}</a></td><td>{_status(r.status)}</td>'
        f"<td>{sum(c.passed for c in r.checks)} / {len(r.checks)}</td>"
        f"<td>{r.seconds:.0f} s</td></tr>"
        for r in report.pipelines
    )
    failures = "".join(f"<li>{e(failure)}</li>" for failure in report.failures())
    verdict = "passed" if report.passed else "failed"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mlp nightly {e(report.started_at)}</title>
<style>{_STYLE}</style></head><body>
<h1>mlp nightly — {_status(verdict)}</h1>
<p class="summary">Started {e(report.started_at)} · size <b>{e(report.size)}</b> ·
{report.seconds:.0f} s{" · <b>interrupted</b>" if report.interrupted else ""}</p>
<table><tr><th>pipeline</th><th>result</th><th>checks passed</th><th>time</th></tr>
{overview}</table>
{f"<p><b>Failed:</b></p><ul>{failures}</ul>" if failures else ""}
{"".join(_pipeline_section(result, folder) for result in report.pipelines)}
</body></html>
"""


def write_report(report: NightlyReport, report_dir: Path) -> None:
    """Write ``<report_dir>.json`` and ``<report_dir>.html``; sets the report's paths."""
    report.json_path = report_dir.with_suffix(".json")
    report.html_path = report_dir.with_suffix(".html")
    report.json_path.write_text(json.dumps(report_document(report), indent=2) + "\n")
    report.html_path.write_text(_html(report, report_dir.name))
