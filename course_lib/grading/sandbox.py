"""The OS-level sandbox (bubblewrap) that every piece of submitted code runs in.

A sandbox sees: the system's /usr, the Python installation and its site-packages (any copy
of course_lib in them hidden), the two files of the child program (child.py, plain.py), and
what a caller binds in (the kernel run: a stripped copy of course_lib, see stub.py). It
does not see the repository, course_lib's references, the solution notebooks, the grader's
files or where the grades are written. It has its own PID, network (none), IPC and UTS
namespaces, a fresh home and /tmp in memory, and limits on memory, CPU time and processes.
It runs as an unprivileged user with no capabilities: a fresh unused uid when the grader runs as
root, else the grader's own user in a user namespace of its own.

Nothing secret is on its command line or in its environment: /proc/1/cmdline inside shows
bwrap's own arguments, so the seed of the hidden cases never goes there.
"""
import functools
import os
import platform
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import plain

HERE = Path(__file__).resolve().parent
CHILD_FILES = ("child.py", "plain.py")
# course_lib/depth.py imports only torch: the child needs it to rebuild DepthTensor arguments.
CHILD_EXTRA_FILES = {"depth.py": HERE.parent / "depth.py"}
# When the grader runs as root, each sandbox runs as a user of its own, picked from a range no
# real account uses: the process limit then counts that sandbox's processes and nothing else.
SANDBOX_UIDS = range(1_000_000, 2_000_000)
MAX_PROCESSES = 64   # processes and threads


@dataclass
class Limits:
    memory: int = 4 * 2**30   # bytes of address space per process (torch alone maps ~2 GB)
    cpu_seconds: int = 120    # per process
    processes: int = MAX_PROCESSES
    tmp_size: int = 512 * 2**20  # bytes in /tmp and the home folder, which are in memory


class SandboxError(Exception):
    """The sandboxed process hung, died or sent something that is not a valid message."""


@functools.lru_cache(maxsize=None)
def unavailable_reason():
    """Why bubblewrap cannot isolate submissions here, or None if it can (tried once per process)."""
    if platform.system() != "Linux":
        return f"the sandbox needs Linux (bubblewrap and namespaces); this is {platform.system()}"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.getuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is needed to drop root inside the sandbox"
    try:
        proc = subprocess.run(bwrap_command(["/bin/true"], Limits()), capture_output=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap did not start: {err}"
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()[:300]
        return (f"bubblewrap cannot create a sandbox here ({detail}); it needs user namespaces "
                f"(sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces > 0), or root")
    return None


def _python_roots():
    """The folders the Python interpreter and its packages live in."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).absolute()}
    return sorted(str(r) for r in roots)


def _hidden_copies(roots):
    """Installed copies of course_lib inside the Python folders (a non-editable install)."""
    hidden = []
    for entry in sys.path:
        if entry and any(entry.startswith(r) for r in roots) and os.path.isdir(entry):
            for name in os.listdir(entry):
                if name == "course_lib" or (name.startswith("course_lib") and name.endswith(".py")):
                    hidden.append(os.path.join(entry, name))
    return hidden


def _with_parents(path, made):
    """bwrap arguments creating path's parent folders readable by everyone (bwrap makes them 0700)."""
    args = []
    parts = Path(path).parts
    for i in range(2, len(parts)):
        parent = str(Path(*parts[:i]))
        if parent not in made and not parent.startswith("/usr"):
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def bwrap_command(command, limits, binds=(), writable=(), cwd="/home/learner", env=None):
    """The full command line that runs `command` in a fresh sandbox.

    binds: (outside path, inside path) pairs bound read-only; writable: inside paths that
    get an empty in-memory folder.
    """
    made = set()
    args = ["bwrap", "--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/" + link)
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), "/" + link]
        elif target.is_dir():
            args += ["--ro-bind", str(target), "/" + link]
    roots = _python_roots()
    for root in roots:
        args += _with_parents(root, made) + ["--ro-bind", root, root]
    for path in _hidden_copies(roots):
        args += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    for outside, inside in binds:
        args += _with_parents(inside, made) + ["--ro-bind", str(outside), inside]
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_size), "--perms", "01777", "--tmpfs", "/tmp"]
    for inside in ("/home/learner", *writable):
        args += _with_parents(inside, made) + ["--size", str(limits.tmp_size), "--perms", "01777", "--tmpfs", inside]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent", "--new-session", "--clearenv", "--chdir", cwd]
    environment = {"HOME": "/home/learner", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                   "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MPLBACKEND": "Agg", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                   "USER": "learner", "LOGNAME": "learner"}
    environment.update(env or {})
    for key, value in environment.items():
        args += ["--setenv", key, value]
    nproc = limits.processes
    if os.getuid() == 0:  # drop root inside: bwrap keeps only the two capabilities setpriv needs
        uid = secrets.choice(SANDBOX_UIDS)
        nproc += _processes_of(uid)
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs"]
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:  # a user namespace of our own: the process count starts at 0 there
        drop = []
        args += ["--unshare-user"]
    limit = ["prlimit", f"--as={limits.memory}", f"--cpu={limits.cpu_seconds}", f"--nproc={nproc}",
             "--core=0", f"--fsize={limits.tmp_size}"]
    return args + ["--", *limit, "--", *drop, "--", *command] if drop else args + ["--", *limit, "--", *command]


def _processes_of(uid):
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return count


def child_folder():
    """A private copy of the child program, to bind into sandboxes (not the repository's path)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-child-"))
    folder.chmod(0o755)
    sources = {name: HERE / name for name in CHILD_FILES} | CHILD_EXTRA_FILES
    for name, source in sources.items():
        shutil.copy(source, folder / name)
        (folder / name).chmod(0o644)
    return folder


class Process:
    """A sandboxed child program that talks plain-data messages over two pipes.

    unsafe=True runs it as a plain subprocess (for `--unsafe` only).
    """

    def __init__(self, mode, child_dir, limits, binds=(), writable=(), cwd="/home/learner", env=None,
                 unsafe=False):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        os.set_blocking(self.to_child, False)
        inside = str(child_dir) if unsafe else "/grader"
        command = [sys.executable, "-I", f"{inside}/child.py", mode, str(to_child_r), str(from_child_w)]
        self.unsafe_folder = tempfile.mkdtemp(prefix="grader-unsafe-") if unsafe else None
        if unsafe:
            full, cwd_outside = command, self.unsafe_folder
        else:
            full = bwrap_command(command, limits, [(child_dir, "/grader"), *binds], writable, cwd, env)
            cwd_outside = None
        self.popen = subprocess.Popen(full, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True, cwd=cwd_outside,
                                      env=None if not unsafe else {**os.environ, **(env or {}), "PYTHONPATH": ""})
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""

    def send(self, values, timeout, callables=None):
        data = plain.pack(values, callables)
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self.to_child], [], left)[1]:
                raise SandboxError(f"did not take its input within {timeout:g} s (stopped?)")
            try:
                view = view[os.write(self.to_child, view):]
            except BrokenPipeError:
                raise SandboxError(self._died()) from None

    def receive(self, timeout):
        """The next message, as a list of values."""
        deadline = time.monotonic() + timeout
        size = None
        while True:
            if size is None and len(self.buffer) >= 8:
                size = int.from_bytes(self.buffer[:8], "little")
                if size > plain.MAX_MESSAGE:
                    raise SandboxError(f"sent a message of {size} bytes, more than the grader reads")
            if size is not None and len(self.buffer) >= 8 + size:
                data, self.buffer = self.buffer[8:8 + size], self.buffer[8 + size:]
                try:
                    return plain.unpack(data)
                except plain.BoundaryError as err:
                    raise SandboxError(f"sent something that is not plain data: {err}") from None
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_child], [], [], left)[0]:
                raise SandboxError(f"did not finish within {timeout:g} s (an endless loop, or stopped?)")
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise SandboxError(self._died())
            self.buffer += chunk

    def _died(self):
        try:
            code = self.popen.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        return f"the process running your code died (exit code {code})"

    def close(self):
        """Kill the sandbox and everything in it (its PID namespace dies with bwrap)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, 9)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.to_child, self.from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.unsafe_folder:
            shutil.rmtree(self.unsafe_folder, ignore_errors=True)
