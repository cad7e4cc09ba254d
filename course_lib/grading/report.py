"""Step 5: the grades, as a table for the terminal and as JSON.

Every piece of text that a submission can influence (reasons, errors, file names) goes
through `escape`, so that a message with newlines or terminal codes cannot print a line
that looks like the grader's own ("passed", "TOTAL 4 / 4").
"""
from dataclasses import asdict, dataclass, field

MAX_TEXT = 400


def escape(text, limit=MAX_TEXT):
    """text on one line: control characters, line breaks and terminal codes as \\n, \\x1b, ..."""
    text = str(text)
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return out if len(out) <= limit else out[:limit] + "..."


@dataclass
class ExerciseGrade:
    exercise_id: str
    points: int
    earned: int = 0
    status: str = "not graded"  # passed, failed, error, not attempted, needs review, missing
    reason: str = ""


@dataclass
class NotebookGrade:
    path: str
    notebook: str = ""  # "07"
    solution: str = ""  # the solution notebook it was checked against
    exercises: list = field(default_factory=list)
    errors: list = field(default_factory=list)    # what stopped (part of) the grading
    warnings: list = field(default_factory=list)  # worth knowing, costs nothing
    execution: dict = field(default_factory=dict)
    seed: int = 0
    sandbox: str = "bubblewrap"  # or "none (--unsafe)"

    @property
    def earned(self):
        return sum(ex.earned for ex in self.exercises)

    @property
    def possible(self):
        return sum(ex.points for ex in self.exercises)

    def to_json(self):
        data = asdict(self)
        data.update(earned=self.earned, possible=self.possible, needs_review=self.needs_review)
        return data

    @property
    def needs_review(self):
        return [{"exercise_id": ex.exercise_id, "points": ex.points, "reason": ex.reason}
                for ex in self.exercises if ex.status == "needs review"]


def table(results):
    """The grades as a text table."""
    lines = []
    for res in results:
        lines.append(escape(res.path) + (f"  (checked against {escape(res.solution)})" if res.solution else ""))
        if res.sandbox != "bubblewrap":
            lines.append(f"  UNSAFE: graded without a sandbox ({escape(res.sandbox)})")
        for error in res.errors:
            lines.append(f"  ERROR: {escape(error)}")
        for ex in res.exercises:
            line = f"  {ex.exercise_id:<32} {ex.earned:>3} / {ex.points:<3} {ex.status}"
            lines.append(line + (f": {escape(ex.reason)}" if ex.reason else ""))
        execution = res.execution
        if execution:
            state = "the kernel died" if execution["kernel_died"] else (
                "stopped at the time limit" if execution["timed_out"] else "ran to the end")
            lines.append(f"  run: {execution['cells_run']} code cells in {execution['seconds']} s, {state}, "
                         f"{len(execution['errors'])} cells with errors"
                         + (f", {execution['withheld']} cells could not run without a reference withheld while grading"
                            if execution.get("withheld") else ""))
            for error in execution["errors"][:10]:
                lines.append(f"    cell {error['cell']}: {escape(error['error'])}")
        for warning in res.warnings:
            lines.append(f"  warning: {escape(warning)}")
        lines.append(f"  TOTAL {res.earned} / {res.possible}")
        lines.append("")
    review = [(res, item) for res in results for item in res.needs_review]
    if review:
        lines.append("NEEDS REVIEW (0 automatic points; look at these cells by hand):")
        lines += [f"  {escape(res.path)}  {item['exercise_id']} ({item['points']} points): {escape(item['reason'])}"
                  for res, item in review]
        lines.append("")
    return "\n".join(lines)

