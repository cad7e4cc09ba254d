"""Plain data across the sandbox boundary: JSON for the structure, .npz for the arrays.

Both sides use this file: the grader, and the sandboxed child (which runs it as a plain
script beside child.py, without course_lib). Nothing here unpickles: the arrays are read
with np.load(allow_pickle=False), and only numeric, boolean and text arrays are accepted.

What crosses, and how it comes back:
    None, bool, int, float, str       as themselves (subclasses become the base type)
    tuple, list, dict                 tagged, so that a tuple stays a tuple
    numpy arrays and numpy scalars    as arrays (a scalar comes back as a numpy scalar)
    torch tensors                     as arrays, rebuilt as tensors
    course_lib.depth.DepthTensor      as a tensor plus its depth, rebuilt as a DepthTensor
                                      (the depth a submission reports is its own claim)
    numpy Generators                  as their bit generator's state
    callables (grader -> child only)  as a number; calling it asks the grader (see child.py)
    anything else                     as Unreadable(type name): it equals nothing

A message is one frame: 8 bytes of length, then an .npz archive holding the JSON (as
bytes, under "json") and the arrays ("a0", "a1", ...).
"""
import io
import json
import struct

import numpy as np

MAX_MESSAGE = 64 * 2**20  # bytes; the cases are small, and a bigger reply is a mistake or an attack
ARRAY_KINDS = "biufcU"     # bool, ints, floats, complex, text: nothing that needs pickle
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
MAX_DEPTH = 50


class BoundaryError(Exception):
    """A value cannot cross the boundary, or a message is malformed."""


class Unreadable:
    """Stands for a value the other side could not turn into plain data. Equal to nothing."""

    def __init__(self, type_name):
        self.type_name = str(type_name)[:80]

    def __eq__(self, other):
        return False

    def __ne__(self, other):
        return True

    __hash__ = None

    def __repr__(self):
        return f"<a {self.type_name} object, which the grader cannot read>"


# ---------------------------------------------------------------------------
# Encoding


def encode(value, arrays, callables=None, depth=0):
    """A JSON-able tree for value; arrays are appended to `arrays` and referred to by index.

    callables: a list to register callables in (the grader's side), or None, where a callable
    becomes Unreadable.
    """
    if depth > MAX_DEPTH:
        raise BoundaryError("the value is nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value if type(value) is not float or np.isfinite(value) else {"t": "float", "v": repr(value)}
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in ARRAY_KINDS or array.dtype.fields is not None:
            return {"t": "unreadable", "type": f"array of dtype {array.dtype}"}
        arrays.append(np.ascontiguousarray(array))
        return {"t": "array" if isinstance(value, np.ndarray) else "scalar", "k": len(arrays) - 1}
    if _is_tensor(value):
        array = value.detach().cpu()
        dtype = str(array.dtype)
        if dtype == "torch.bfloat16":
            array = array.float()
        arrays.append(np.ascontiguousarray(_plain_tensor(array).numpy()))
        tree = {"t": "tensor", "k": len(arrays) - 1, "dtype": dtype, "grad": bool(value.requires_grad)}
        if type(value).__name__ == "DepthTensor" and type(getattr(value, "depth", None)) is int:
            tree["depth"] = value.depth
        return tree
    if isinstance(value, np.random.Generator):
        return {"t": "generator", "state": encode(value.bit_generator.state, arrays, None, depth + 1)}
    if isinstance(value, bool):  # subclasses of the plain types
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return encode(float(value), arrays, callables, depth)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (tuple, list)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "v": [encode(v, arrays, callables, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k, arrays, callables, depth + 1), encode(v, arrays, callables, depth + 1)]
                                   for k, v in value.items()]}
    if isinstance(value, Unreadable):
        return {"t": "unreadable", "type": value.type_name}
    if callable(value) and callables is not None:
        callables.append(value)
        return {"t": "callable", "id": len(callables) - 1}
    return {"t": "unreadable", "type": type(value).__name__}


def _is_tensor(value):
    """A torch.Tensor or a subclass of it (found by name, so that this file needs no torch)."""
    return any(cls.__name__ == "Tensor" and (cls.__module__ or "").startswith("torch")
               for cls in type(value).__mro__)


def _plain_tensor(tensor):
    """A subclass's data as a plain torch.Tensor, so that .numpy() runs no subclass code."""
    import torch

    with torch._C.DisableTorchFunctionSubclass():
        return torch.Tensor.clone(tensor).detach().as_subclass(torch.Tensor)


# ---------------------------------------------------------------------------
# Decoding


def decode(tree, arrays, make_callable=None, depth=0):
    """The value a tree from `encode` stands for. Raises BoundaryError on anything malformed.

    make_callable(id) -> a function standing for the other side's callable (the child's side).
    """
    if depth > MAX_DEPTH:
        raise BoundaryError("the value is nested too deeply")
    if tree is None or type(tree) in (bool, int, float, str):
        return tree
    if type(tree) is not dict or type(tree.get("t")) is not str:
        raise BoundaryError("malformed message")
    kind = tree["t"]
    if kind == "float":
        if tree.get("v") not in ("nan", "inf", "-inf"):
            raise BoundaryError("malformed float")
        return float(tree["v"])
    if kind in ("array", "scalar", "tensor"):
        array = _array(arrays, tree.get("k"))
        if kind == "array":
            return array.copy()
        if kind == "scalar":
            if array.ndim != 0:
                raise BoundaryError("malformed scalar")
            return array[()]
        tensor = _tensor(array, tree.get("dtype"), tree.get("grad"))
        if type(tree.get("depth")) is int:
            return _depth_tensor(tensor, tree["depth"])
        return tensor
    if kind in ("tuple", "list"):
        items = tree.get("v")
        if type(items) is not list:
            raise BoundaryError("malformed sequence")
        values = [decode(v, arrays, make_callable, depth + 1) for v in items]
        return tuple(values) if kind == "tuple" else values
    if kind == "dict":
        pairs = tree.get("v")
        if type(pairs) is not list or not all(type(p) is list and len(p) == 2 for p in pairs):
            raise BoundaryError("malformed dict")
        out = {}
        for k, v in pairs:
            key = decode(k, arrays, make_callable, depth + 1)
            try:
                out[key] = decode(v, arrays, make_callable, depth + 1)
            except TypeError:  # an unhashable key
                raise BoundaryError("a dict key that cannot be a key") from None
        return out
    if kind == "generator":
        return _generator(decode(tree.get("state"), arrays, None, depth + 1))
    if kind == "unreadable":
        return Unreadable(tree.get("type", "unknown"))
    if kind == "callable" and make_callable is not None and type(tree.get("id")) is int:
        return make_callable(tree["id"])
    raise BoundaryError(f"malformed message (kind {kind!r:.40})")


def _array(arrays, key):
    if type(key) is not int or not 0 <= key < len(arrays):
        raise BoundaryError("malformed array reference")
    return arrays[key]


def _tensor(array, dtype, grad):
    import torch

    tensor = torch.from_numpy(array.copy())
    if dtype == "torch.bfloat16":
        tensor = tensor.to(torch.bfloat16)
    if grad is True and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


def _depth_tensor(tensor, depth):
    try:
        from course_lib.depth import DepthTensor   # the grader's side
    except ImportError:
        from depth import DepthTensor              # the child's side: depth.py sits beside plain.py
    out = tensor.as_subclass(DepthTensor)
    out.depth = depth
    return out


def _generator(state):
    if type(state) is not dict or state.get("bit_generator") not in BIT_GENERATORS:
        raise BoundaryError("malformed random generator")
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    try:
        generator.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as err:
        raise BoundaryError(f"malformed random generator state: {err}") from None
    return generator


# ---------------------------------------------------------------------------
# Messages: a list of values, framed


def pack(values, callables=None):
    """The bytes of one message holding the list `values`."""
    arrays = []
    tree = [encode(v, arrays, callables) for v in values]
    buffer = io.BytesIO()
    text = json.dumps(tree).encode()
    np.savez(buffer, json=np.frombuffer(text, dtype=np.uint8), **{f"a{i}": a for i, a in enumerate(arrays)})
    data = buffer.getvalue()
    if len(data) > MAX_MESSAGE:
        raise BoundaryError(f"the message is larger than {MAX_MESSAGE // 2**20} MB")
    return struct.pack("<Q", len(data)) + data


def unpack(data, make_callable=None):
    """The list of values in the bytes of one message (without its length)."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        names = set(archive.files)
        if "json" not in names or len(names) > 100_000:
            raise BoundaryError("malformed message")
        arrays = [archive[f"a{i}"] for i in range(len(names) - 1)]
        tree = json.loads(archive["json"].tobytes().decode())
    except BoundaryError:
        raise
    except Exception as err:  # a zip, npy or JSON error: whatever it is, the message is bad
        raise BoundaryError(f"malformed message ({type(err).__name__})") from None
    for array in arrays:
        if array.dtype.kind not in ARRAY_KINDS or array.dtype.fields is not None:
            raise BoundaryError(f"an array of dtype {array.dtype} is not plain data")
    if type(tree) is not list:
        raise BoundaryError("malformed message")
    try:
        return [decode(t, arrays, make_callable) for t in tree]
    except RecursionError:
        raise BoundaryError("the value is nested too deeply") from None


def read_message(stream, make_callable=None):
    """The next message from a binary stream; EOFError when it is closed."""
    header = _read_exactly(stream, 8)
    (size,) = struct.unpack("<Q", header)
    if size > MAX_MESSAGE:
        raise BoundaryError(f"a message of {size} bytes is larger than {MAX_MESSAGE // 2**20} MB")
    return unpack(_read_exactly(stream, size), make_callable)


def _read_exactly(stream, n):
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
