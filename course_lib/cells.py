"""A notebook code cell read as Python source."""
import ast


def parse_cell(source):
    """The ast of a cell, with IPython's `!shell` and `%magic` lines blanked; None if invalid."""
    lines = [("pass" if line.lstrip().startswith(("!", "%")) else line) for line in source.split("\n")]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None
