"""The result of one check, rendered as HTML in Jupyter and as text elsewhere."""
import html
from dataclasses import dataclass, field

STATUS_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "not attempted": "✏️", "reference": "⚠️"}
STATUS_COLOR = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e",
                "not attempted": "#9a6700", "reference": "#9a6700"}


@dataclass
class OutputRow:
    """One line of a backward check's table: an output, whether it is right on every
    case, its largest absolute error over the cases (None if it could not be compared),
    and what is wrong with it, if it is wrong."""

    name: str
    ok: bool
    error: float | None
    problem: str = ""

    def error_text(self):
        return "-" if self.error is None else f"{self.error:.1e}"


@dataclass
class Report:
    """The result of checking one attempt. Renders as HTML in Jupyter, as text elsewhere."""

    exercise_id: str
    status: str  # "passed", "failed", "error", "not attempted" or "reference"
    points: int
    cases_total: int = 0
    cases_passed: int = 0
    message: str = ""
    hint: str = ""
    trace: str = ""
    note: str = ""  # what the notebook does next, e.g. falls back to the reference
    table: list = field(default_factory=list)  # OutputRow per output, for backward checks

    @property
    def passed(self):
        return self.status == "passed"

    @property
    def score(self):
        # All or nothing: partial credit for passing the easy cases would reward stubs.
        return self.points if self.passed else 0

    def headline(self):
        icon = STATUS_ICON[self.status]
        if self.status == "passed":
            detail = f"passed all {self.cases_total} test cases"
        elif self.status == "failed":
            detail = f"failed: {self.cases_passed} of {self.cases_total} test cases passed"
        elif self.status == "not attempted":
            detail = "not attempted yet"
        else:
            detail = self.status
        return f"{icon} {self.exercise_id}: {detail} ({self.score}/{self.points} points)"

    def table_lines(self):
        """The table as aligned text lines: one row per output."""
        if not self.table:
            return []
        width = max(len(row.name) for row in self.table)
        lines = [f"   {'output':<{width}}  largest error"]
        for row in self.table:
            icon = "✅" if row.ok else "❌"
            line = f"{icon} {row.name:<{width}}  {row.error_text():>13}"
            lines.append(line + (f"  {row.problem}" if row.problem else ""))
        return lines

    def __str__(self):
        lines = [self.headline()]
        lines += self.table_lines()
        if self.message:
            lines.append(self.message)
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        if self.trace:
            lines.append(self.trace.rstrip())
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    __repr__ = __str__

    def _table_html(self):
        cell = "padding:1px 8px;text-align:left"
        rows = [f"<tr><th style='{cell}'></th><th style='{cell}'>output</th>"
                f"<th style='{cell}'>largest error</th><th style='{cell}'></th></tr>"]
        for row in self.table:
            rows.append(f"<tr><td style='{cell}'>{'✅' if row.ok else '❌'}</td>"
                        f"<td style='{cell}'><code>{html.escape(row.name)}</code></td>"
                        f"<td style='{cell}'>{row.error_text()}</td>"
                        f"<td style='{cell}'>{html.escape(row.problem)}</td></tr>")
        return "<table style='margin:4px 0;font-size:90%'>" + "".join(rows) + "</table>"

    def _repr_html_(self):
        color = STATUS_COLOR[self.status]
        parts = [f'<div style="border-left:4px solid {color};padding:4px 10px;margin:4px 0">',
                 f'<b style="color:{color}">{html.escape(self.headline())}</b>']
        if self.table:
            parts.append(self._table_html())
        if self.message:
            parts.append(f"<div>{html.escape(self.message)}</div>")
        if self.hint:
            parts.append(f"<div><b>Hint:</b> {html.escape(self.hint)}</div>")
        if self.trace:
            parts.append(f"<pre style='font-size:90%'>{html.escape(self.trace)}</pre>")
        if self.note:
            parts.append(f"<div><i>{html.escape(self.note)}</i></div>")
        parts.append("</div>")
        return "\n".join(parts)
