"""The program inside the sandbox. It imports nothing from course_lib (there is none here).

    python -I child.py score IN OUT      run exercise cells and call their functions
    python -I child.py notebook IN OUT   run a whole notebook in a kernel (nbclient)

IN and OUT are pipe file descriptors; every message is a list of plain values (plain.py).

Scoring, messages from the grader, each answered once:
    ["load", unit, spec]               -> ["ok"] or ["raised", type name, message]
    ["call", unit, name, args, kwargs] -> ["returned", output, args, kwargs] or ["raised", ...]
While a call runs, the child may ask ["callback", id, args, kwargs] and gets ["returned", value]
or ["raised", type name, message]: that is how an exercise uses the reference of an earlier one,
which only the grader holds.

spec: {"modules": [[module name, source, binds]], "binds": binds, "prelude": str, "cell": str}
binds: [[name, kind, value]] with kind "value", "module" (another module of the spec), "attr"
(module name, attribute), "import" (module name), "importattr" (module name, attribute) or
"withheld" (a message).

What the learner's code does here can change only what this process sends back; the grader
compares it, as plain data, with answers it computed itself.
"""
import importlib
import os
import sys
import time
import traceback
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plain  # noqa: E402

CELL_FILENAME = "<your exercise cell>"


class Channel:
    def __init__(self, read_fd, write_fd):
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.write_fd = write_fd

    def send(self, values):
        data = plain.pack(values)
        view = memoryview(data)
        while view:
            view = view[os.write(self.write_fd, view):]

    def receive(self, make_callable=None):
        return plain.read_message(self.reader, make_callable)


def describe(err):
    if isinstance(err, SystemExit):
        return repr(err.code)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == CELL_FILENAME]
    where = f" (line {frames[-1].lineno} of your cell)" if frames else ""
    return f"{err}"[:2000] + where


class Withheld:
    def __init__(self, message):
        self.message = message

    def __call__(self, *args, **kwargs):
        raise NameError(self.message)


def score(channel):
    units = {}

    def make_callback(number):
        def callback(*args, **kwargs):
            channel.send(["callback", number, list(args), kwargs])
            kind, *rest = channel.receive()
            if kind == "returned":
                return rest[0]
            raise RuntimeError(f"{rest[0]}: {rest[1]}")
        return callback

    while True:
        try:
            message = channel.receive(make_callback)
        except EOFError:
            return
        try:
            if message[0] == "load":
                units[message[1]] = load(message[2])
                reply = ["ok"]
            else:
                _, unit, name, args, kwargs = message
                fn = units[unit].get(name)
                if not callable(fn):
                    raise NameError(f"the cell does not define a function `{name}`")
                out = fn(*args, **kwargs)
                reply = ["returned", out, args, kwargs]
        except BaseException as err:  # SystemExit and KeyboardInterrupt included
            reply = ["raised", type(err).__name__, describe(err)]
        try:
            channel.send(reply)
        except plain.BoundaryError as err:
            channel.send(["raised", "ValueError", f"the result cannot be sent to the grader: {err}"])


def load(spec):
    """A namespace with the notebook's own code (trusted), then the learner's cell."""
    modules = {}
    for name, _, _ in spec["modules"]:
        modules[name] = types.ModuleType(name)
    for name, source, binds in spec["modules"]:
        namespace = modules[name].__dict__
        _bind(namespace, [b for b in binds if b[1] != "attr"], modules)
        exec(compile(source, f"<{name}>", "exec"), namespace)
    for name, _, binds in spec["modules"]:  # names from other modules, once all are defined
        _bind(modules[name].__dict__, [b for b in binds if b[1] == "attr"], modules)
    namespace = {"__name__": "__main__"}
    _bind(namespace, spec["binds"], modules)
    exec(compile(spec["prelude"], "<the notebook's own code>", "exec"), namespace)
    exec(compile(spec["cell"], CELL_FILENAME, "exec"), namespace)
    return namespace


def _bind(namespace, binds, modules):
    for name, kind, value in binds:
        if kind == "value":
            namespace[name] = value
        elif kind == "module":
            namespace[name] = modules[value]
        elif kind == "attr":
            namespace[name] = getattr(modules[value[0]], value[1])
        elif kind == "import":
            namespace[name] = importlib.import_module(value)
        elif kind == "importattr":
            namespace[name] = getattr(importlib.import_module(value[0]), value[1])
        elif kind == "withheld":
            namespace[name] = Withheld(value)


# ---------------------------------------------------------------------------
# The kernel run


def notebook(channel):
    """Run a notebook top to bottom; send back which cells failed."""
    notebook_json, timeout, cell_timeout = channel.receive()
    sys.modules.setdefault("rfc3987_syntax", None)  # 3-10 s of grammars nbformat never uses
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.reads(notebook_json, as_version=4)
    client = NotebookClient(nb, timeout=int(cell_timeout), allow_errors=True, interrupt_on_timeout=True,
                            kernel_name="python3", resources={"metadata": {"path": os.getcwd()}})
    result = {"cells_run": 0, "errors": [], "timed_out": False, "kernel_died": False, "seconds": 0.0}
    start, index = None, None
    try:
        with client.setup_kernel():
            start = time.monotonic()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = timeout - (time.monotonic() - start)
                if left <= 1:
                    result["timed_out"] = True
                    result["errors"].append({"cell": index, "error": f"not run: the notebook used up its {timeout:g} s"})
                    break
                client.timeout = int(min(cell_timeout, left))
                began = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    result["errors"].append({"cell": index, "error": f"timed out after {client.timeout} s"})
                    continue
                result["cells_run"] += 1
                for output in cell.outputs:
                    if output.get("output_type") == "error":
                        error = f"{output.get('ename')}: {output.get('evalue')}"[:300]
                        if output.get("ename") == "KeyboardInterrupt" and time.monotonic() - began >= client.timeout:
                            error = f"timed out after {client.timeout} s (interrupted)"
                        result["errors"].append({"cell": index, "error": error})
                cell.outputs = []  # only the errors are kept
    except DeadKernelError:
        result["kernel_died"] = True
        result["errors"].append({"cell": index, "error": "the kernel died"})
    except Exception as err:
        result["errors"].append({"cell": index, "error": f"{type(err).__name__}: {err}"[:300]})
    result["seconds"] = round(time.monotonic() - start, 1) if start else 0.0
    channel.send([result])


if __name__ == "__main__":
    mode, read_fd, write_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    channel = Channel(read_fd, write_fd)
    os.dup2(os.open(os.devnull, os.O_RDWR), 0)
    {"score": score, "notebook": notebook}[mode](channel)
