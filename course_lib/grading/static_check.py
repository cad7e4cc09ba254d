"""Step 2: read each exercise cell (its ast) for anything an exercise has no need of.

An exercise cell may import numpy and math, and torch where the notebook uses torch. It may
use the course_lib helpers the notebook imports, but not the exercise's own reference nor the
checker. Anything else an honest answer does not need (files, exec, other modules, reaching
into objects through dunder attributes, ...) sends the exercise to the "needs review" list with
0 automatic points: an instructor looks at it. This is a second fence; the sandbox is the first,
and holds even for code that slips past this one.
"""
import ast
import types

from .read import parse_cell

ALLOWED_IMPORTS = {"numpy", "math"}  # plus torch where the notebook imports it
FORBIDDEN_NAMES = {"open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
                   "breakpoint", "input", "exit", "quit", "help", "memoryview", "getattr", "setattr",
                   "delattr", "__builtins__", "__loader__", "__spec__", "__file__"}
ALLOWED_DUNDERS = {"__init__", "__name__"}  # super().__init__() in a torch module
# numpy and torch attributes that read or write files, load code, or start processes
FORBIDDEN_ATTRIBUTES = {
    "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile",
    "tofile", "fromregex", "memmap", "DataSource", "ctypeslib", "f2py", "distutils", "testing", "lib",
    "os", "sys", "hub", "jit", "compile", "ops", "library", "classes", "from_file", "multiprocessing",
    "distributed", "utils", "package", "modules", "system", "popen", "subprocess", "builtins",
    "f_back", "f_globals", "f_locals", "gi_frame", "tb_frame", "cr_frame",
}


def review_reason(source, allowed_imports, course_lib_objects=None, reference=None):
    """Why this exercise cell needs a human look, or "" if it may be scored automatically.

    allowed_imports: top-level module names the cell may import.
    course_lib_objects: {name: object} that the notebook's own cells import from course_lib.
    reference: the implementation this exercise is compared against.
    """
    tree = parse_cell(source)
    if tree is None:
        return ""  # a SyntaxError is the learner's error, reported when the cell runs
    course_lib_objects = course_lib_objects or {}
    defined = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.level:
                return "it uses a relative import"
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                if module.split(".")[0] not in allowed_imports:
                    return (f"it imports {module}; exercise cells may import only "
                            f"{', '.join(sorted(allowed_imports))}")
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_NAMES or (_is_dunder(node.id) and node.id not in ALLOWED_DUNDERS):
                return f"it uses `{node.id}`, which an exercise has no need of"
            if "course_lib" in node.id:
                return "it refers to course_lib"
            if node.id in course_lib_objects and node.id not in defined:
                problem = _course_lib_use(node, parents, course_lib_objects[node.id], reference)
                if problem:
                    return problem
        elif isinstance(node, ast.Attribute):
            if _is_dunder(node.attr) and node.attr not in ALLOWED_DUNDERS:
                return f"it uses the attribute `{node.attr}`, which an exercise has no need of"
            if node.attr.startswith("_") and not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                return f"it uses the private attribute `{node.attr}`"
            if node.attr in FORBIDDEN_ATTRIBUTES:
                return f"it uses `.{node.attr}`, which reads files, loads code or reaches other modules"
            if "course_lib" in node.attr:
                return "it refers to course_lib"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "course_lib" in node.value or (_is_dunder(node.value.strip()) and len(node.value) < 40):
                return f"it holds the string {node.value[:40]!r}"
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and any(_is_dunder(n) for n in node.names):
            return "it declares a dunder name global"
    return ""


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__") and len(name) > 4


def _course_lib_use(node, parents, obj, reference):
    """Why using this name from course_lib is not allowed here, or ""."""
    chain = node.id
    while isinstance(obj, types.ModuleType):  # follow layers.rnn_forward to the function
        parent = parents.get(node)
        if not isinstance(parent, ast.Attribute) or not hasattr(obj, parent.attr):
            return f"it uses the module `{chain}` from course_lib other than by name"
        node, obj, chain = parent, getattr(obj, parent.attr), f"{chain}.{parent.attr}"
    if reference is not None and obj is reference:
        return f"it calls `{chain}`, course_lib's reference implementation of this exercise"
    if (getattr(obj, "__module__", "") or "").startswith("course_lib.exercises"):
        return f"it uses `{chain}`, part of the checker"
    return ""
