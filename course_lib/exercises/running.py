"""Running learner code safely: a time limit, a trimmed traceback, and calls on copies.

`check` must survive anything a learner writes: exceptions, endless loops and
`sys.exit()` must never kill the kernel or the notebook.
"""
import copy
import signal
import threading
import traceback
from pathlib import Path

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


class TooSlow(BaseException):
    """Raised inside learner code when it runs past the time limit.

    A BaseException, so that a learner's `except Exception:` cannot swallow it.
    """


def time_limit(seconds):
    """A context manager that raises TooSlow in the main thread after `seconds`.

    It uses SIGALRM, so it only works in the main thread on POSIX (where Jupyter runs
    cells); elsewhere it does nothing rather than fail.
    """
    return _TimeLimit(seconds)


class _TimeLimit:
    def __init__(self, seconds):
        self.seconds = seconds
        self.active = (
            seconds is not None
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        )

    def _alarm(self, signum, frame):
        raise TooSlow()

    def __enter__(self):
        if self.active:
            self.old_handler = signal.signal(signal.SIGALRM, self._alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old_handler)
        return False


def learner_traceback(exc):
    """The traceback of `exc`, trimmed to the frames of the learner's own code.

    Frames inside course_lib, the standard library and site-packages are dropped: the
    learner wants to see their own line, not our plumbing. If nothing is left (the
    error came from deep inside numpy), the last frame is kept.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if _is_learner_frame(f.filename)]
    kept = own or frames[-1:]
    lines = ["Traceback (your code):\n"] + traceback.format_list(kept)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def _is_learner_frame(filename):
    if filename.startswith(PACKAGE_DIR):
        return False
    return not any(part in filename for part in ("site-packages", "/lib/python", "\\lib\\"))


def call_safely(fn, case, seconds):
    """Call fn on a deep copy of the case's arguments.

    Returns (output, copied_args, copied_kwargs): the copies show whether fn changed its
    inputs in place, and whether it drew from a random generator it was given.
    Exceptions propagate to the caller.
    """
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    with time_limit(seconds):
        out = fn(*args, **kwargs)
    return out, args, kwargs
