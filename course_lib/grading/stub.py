"""What submitted code may see of course_lib: never the references, never the checker.

Two views, both built in the grader from the exercise registry, so new exercises need nothing here:
- `stripped_copy(folder)`: for the kernel run, a copy of course_lib in which every exercise's
  reference, and every course_lib function a reference uses, is replaced by a stub that raises
  WithheldWhileGrading, and course_lib.exercises is a checker-free stand-in whose check_and_use
  hands back the learner's own function. The notebook imports and runs; cells that need a
  reference fail with a message saying so.
- `helpers_spec(...)`: for scoring one exercise, the source of only those course_lib functions
  the exercise cell uses (a `sigmoid`, `layers.rnn_forward`) and what they use in turn. A
  registered reference among them is not shipped: it becomes a callback that the grader
  answers, except the exercise's own reference, which is withheld.
"""
import ast
import inspect
import pkgutil
import textwrap
import types
from pathlib import Path

import course_lib

PACKAGE = Path(course_lib.__file__).resolve().parent
LEFT_OUT = ("exercises", "grading", "grade")  # never copied: the checker and the grader

WITHHELD_MODULE = '''"""Stands for what the grader withholds from submitted code."""


class WithheldWhileGrading(Exception):
    pass


class Withheld:
    def __init__(self, name):
        self._name = name

    def __call__(self, *args, **kwargs):
        raise WithheldWhileGrading(f"{self._name} is not available while grading: the grader runs the "
                                   f"notebook without course_lib's reference implementations")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self(attr)


def withheld(name):
    return Withheld(name)
'''

EXERCISES_STUB = '''"""The checker is not here while grading: the grader scores every exercise itself, on hidden cases."""
from course_lib._withheld import withheld

NOTE = "not checked in this run: the grader scores this exercise on its own, on hidden cases"
_YOURS = {}


def check_and_use(exercise_id, fn):
    print(f"{exercise_id}: {NOTE}")
    _YOURS[exercise_id] = fn
    return fn


def yours(exercise_id):
    return _YOURS.get(exercise_id) or withheld(f"the reference of {exercise_id}")


def your_cell(exercise_id, folder=None):
    print(f"{exercise_id}: not read while grading: the grader sees this notebook alone")
    return withheld(f"{exercise_id} from its own notebook")


def summary(notebook):
    print(f"Notebook {notebook}: exercises {NOTE.split(':')[0]}")


def assert_passed(exercise_id):
    return None


def all_exercises(notebook=None):
    return []


def __getattr__(name):
    return withheld(f"course_lib.exercises.{name}")
'''

SUBMODULE_STUB = '''from course_lib._withheld import withheld


def __getattr__(name):
    return withheld(f"{__name__}.{name}")
'''


def references():
    """Every registered exercise's reference implementation."""
    from .. import exercises

    return [ex.reference for ex in exercises.all_exercises()]


def _is_course_lib(obj):
    module = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None) or ""
    return module == "course_lib" or module.startswith("course_lib.")


def _module_globals(obj):
    import sys

    return getattr(obj, "__globals__", None) or vars(sys.modules[obj.__module__])


def dependencies(obj):
    """{name: value} of the module-level names obj's source uses, and [(module, attr)] it reaches
    through a course_lib module (layers.one_hot)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return {}, []
    scope = _module_globals(obj)
    names, through = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in scope:
            names[node.id] = scope[node.id]
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and isinstance(scope.get(node.value.id), types.ModuleType) and _is_course_lib(scope[node.value.id])
                and hasattr(scope[node.value.id], node.attr)):
            through.append((scope[node.value.id], node.attr))
    names.pop(getattr(obj, "__name__", None), None)
    return names, through


def reachable(roots):
    """The course_lib functions and classes that the objects in roots use, roots included."""
    seen, todo = {}, list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or not _is_course_lib(obj) or not callable(obj):
            continue
        seen[id(obj)] = obj
        names, through = dependencies(obj)
        todo += [v for v in names.values() if callable(v) and not isinstance(v, types.ModuleType)]
        todo += [getattr(module, attr) for module, attr in through]
    return list(seen.values())


# ---------------------------------------------------------------------------
# The stripped copy, for the kernel run


def stripped_copy(folder):
    """Write course_lib without references or checker into folder/course_lib; returns that path."""
    withheld = {(obj.__module__, obj.__qualname__) for obj in reachable(references())}
    target = Path(folder) / "course_lib"
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0].removesuffix(".py") in LEFT_OUT or "__pycache__" in relative.parts:
            continue
        module = "course_lib" + "".join(f".{p}" for p in relative.with_suffix("").parts)
        module = module.removesuffix(".__init__")
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_strip(path.read_text(encoding="utf-8"), module, withheld), encoding="utf-8")
    (target / "_withheld.py").write_text(WITHHELD_MODULE, encoding="utf-8")
    stub = target / "exercises"
    stub.mkdir(exist_ok=True)
    (stub / "__init__.py").write_text(EXERCISES_STUB, encoding="utf-8")
    from .. import exercises

    for info in pkgutil.iter_modules(exercises.__path__):
        (stub / f"{info.name}.py").write_text(SUBMODULE_STUB, encoding="utf-8")
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def _strip(source, module, withheld):
    """The module's source with the withheld top-level functions and classes replaced by stubs."""
    tree = ast.parse(source)
    body, changed = [], False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (module, node.name) in withheld:
            body.append(ast.parse(f"{node.name} = _withheld_({f'{module}.{node.name}'!r})").body[0])
            changed = True
        else:
            body.append(node)
    if not changed:
        return ast.unparse(tree)
    start = 0
    while start < len(body) and (_is_docstring(body[start]) or
                                 (isinstance(body[start], ast.ImportFrom) and body[start].module == "__future__")):
        start += 1
    body.insert(start, ast.parse("from course_lib._withheld import withheld as _withheld_").body[0])
    tree.body = body
    return ast.unparse(tree)


def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


# ---------------------------------------------------------------------------
# The helpers of one exercise, for scoring


class ShipError(Exception):
    """A course_lib object the exercise uses cannot be given to the sandbox."""


class Helpers:
    """Collects the modules, sources and bindings for child.py's `load` spec.

    own_reference: withheld; other references: callbacks (the grader's `callables` list).
    """

    def __init__(self, own_reference, all_references, callables):
        self.own = own_reference
        self.references = {id(r) for r in all_references}
        self.callables = callables
        self.modules = {}  # module name -> {"defs": {qualname: source}, "binds": {name: bind}}

    def bind(self, name, obj):
        """The bind (kind, value) that gives `obj` to a namespace under `name`."""
        if obj is self.own:
            return [name, "withheld", f"`{name}` is the reference implementation of this exercise"]
        if (getattr(obj, "__module__", "") or "").startswith("course_lib.exercises"):
            return [name, "withheld", f"`{name}` is part of the checker"]
        if callable(obj) and id(obj) in self.references:
            return [name, "value", obj]  # plain.pack turns it into a callback the grader answers
        if isinstance(obj, types.ModuleType):
            if _is_course_lib(obj) or obj.__name__.startswith("course_lib"):
                self.module_entry(obj.__name__)
                return [name, "module", obj.__name__]
            return [name, "import", obj.__name__]
        if _is_course_lib(obj) and (inspect.isfunction(obj) or inspect.isclass(obj)):
            self.ship(obj)
            return [name, "attr", [obj.__module__, obj.__name__]]
        if callable(obj) and getattr(obj, "__module__", None) and getattr(obj, "__name__", None):
            return [name, "importattr", [obj.__module__, obj.__name__]]  # math.sqrt, imported again inside
        try:
            _check_plain(obj)
        except ShipError:
            raise ShipError(f"`{name}` ({type(obj).__name__}) cannot be given to the sandbox") from None
        return [name, "value", obj]

    def module_entry(self, module):
        """The sources and binds collected for one course_lib module."""
        return self.modules.setdefault(module, {"defs": {}, "binds": {}})

    def ship(self, obj):
        entry = self.module_entry(obj.__module__)
        if obj.__name__ in entry["defs"]:
            return
        try:
            source = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError) as err:
            raise ShipError(f"no source for {obj.__module__}.{obj.__name__}: {err}") from None
        entry["defs"][obj.__name__] = source
        names, through = dependencies(obj)
        for module, attr in through:
            value = getattr(module, attr)
            if callable(value) and not isinstance(value, types.ModuleType):
                self.module_entry(module.__name__)["binds"].setdefault(attr, self.bind(attr, value))
        for dep, value in names.items():
            if dep not in entry["binds"] and dep not in entry["defs"]:
                entry["binds"][dep] = self.bind(dep, value)

    def spec_modules(self):
        out = []
        for module, entry in self.modules.items():
            source = "\n\n".join(entry["defs"].values())
            binds = [b for name, b in entry["binds"].items() if name not in entry["defs"]]
            out.append([module, source, binds])
        return out


def _check_plain(obj, depth=0):
    if depth > 20:
        raise ShipError("nested too deeply")
    import numpy as np

    if obj is None or isinstance(obj, (bool, int, float, str, np.ndarray, np.generic)):
        return
    if isinstance(obj, (tuple, list)):
        for item in obj:
            _check_plain(item, depth + 1)
        return
    if isinstance(obj, dict):
        for key, item in obj.items():
            _check_plain(key, depth + 1)
            _check_plain(item, depth + 1)
        return
    raise ShipError(type(obj).__name__)
