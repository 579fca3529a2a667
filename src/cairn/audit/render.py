"""The report in three formats: a rich terminal table, JSON, and an HTML page.

Renderers only present; every judgement was made in :mod:`cairn.audit.rules`.
JSON is stable (sorted keys within objects, two-space indent, trailing newline)
so reports can be checked in and diffed.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Literal

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from cairn.audit._html import render_html
from cairn.audit._svg import LABELS
from cairn.audit.report import Live, Report
from cairn.errors import AuditError

__all__ = ["FORMATS", "Format", "render", "render_json", "table"]

Format = Literal["table", "json", "html"]
FORMATS: tuple[Format, ...] = ("table", "json", "html")
_STYLE = {"good": "bold green", "warning": "bold yellow", "bad": "bold red"}


def render_json(report: Report) -> str:
    """The documented JSON format."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def table(report: Report) -> RenderableType:
    """The report as rich renderables, for a terminal."""
    rosette = Table(title=f"{report.name}: stage {report.stage.stage}", title_justify="left")
    for column in ("layer", "rating", "reason", "nakamoto"):
        rosette.add_column(column)
    for layer, petal in report.rosette.items():
        n = report.nakamoto[layer]
        coefficient = "none" if n.coefficient is None else str(n.coefficient)
        rosette.add_row(
            LABELS[layer],
            Text(petal.rating, style=_STYLE[petal.rating]),
            petal.reason,
            f"{coefficient} (>{n.threshold})",
        )
    parts: list[RenderableType] = [rosette]
    if report.stage.missing:
        parts.append(Text(f"To reach stage {report.stage.stage + 1}:", style="bold"))
        parts.extend(Text(f"  - {m}") for m in report.stage.missing)
    flags = Table(title="red flags", title_justify="left", show_lines=False)
    flags.add_column("flag", style="red")
    flags.add_column("evidence")
    for flag in report.red_flags:
        flags.add_row(flag.flag, flag.evidence)
    parts.append(flags if report.red_flags else Text("No red flags.", style="green"))
    questions = Table(title="the eight questions", title_justify="left", show_lines=True)
    questions.add_column("question", style="bold")
    questions.add_column("answer")
    for answer in report.questions:
        questions.add_row(answer.question, answer.answer)
    parts.append(questions)
    if report.live is not None:
        parts.append(_live_table(report.live))
    return Group(*parts)


def _live_table(live: Live) -> RenderableType:
    found = Table(title="where the answers came from", title_justify="left", show_header=False)
    found.add_column("what", style="bold")
    found.add_column("value")
    found.add_row("chain", Text(f"{live.chain_id} via {live.chain}"))
    found.add_row("contracts", Text(live.checked))
    for name, count in live.counts.items():
        found.add_row(name.replace("_", " "), f"{count} (onchain)")
    for said in live.node_word:
        found.add_row("node's word", Text(said))
    return found


def render(report: Report, fmt: str) -> str:
    """``report`` as ``table`` (plain text), ``json`` or ``html``."""
    if fmt == "json":
        return render_json(report)
    if fmt == "html":
        return render_html(report)
    if fmt == "table":
        buffer = StringIO()
        Console(file=buffer, width=110, no_color=True, highlight=False).print(table(report))
        return buffer.getvalue()
    raise AuditError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
