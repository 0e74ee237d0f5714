"""How a graded student's kernel hands its answers to the grader: plain data over the wire, everything else by
reference, so the checks run in the grader's process and never trust code from the submission.

Kernel side, `handle(request)` (evaluated as a Jupyter user expression) evaluates an answer expression, calls a
function or method of the student's, reads an attribute or item, and returns the result encoded as JSON text.
Grader side, `decode` turns that text back into values: numbers, strings, lists, tuples, sets, dicts, NumPy arrays
and torch tensors are copied; functions, models and every other object become a `Remote` whose calls, attributes,
items and iteration are further requests to the kernel. A `Remote` claims the class of the object it stands for
when the grader already has that class loaded (`isinstance(remote_model, nn.Module)` holds), never a class defined
by the submission. Nothing is unpickled and no code from the kernel runs in the grader; what the kernel sends is
only ever data that the checks judge, so a submission that tampers with this module only spoils its own answers.
"""
from __future__ import annotations

import base64
import builtins
import io
import itertools
import json
import math
import sys
import types
from typing import Any, Callable

MAX_DEPTH = 64  # nesting of lists/dicts in one answer
MAX_ITEMS = 1_000_000  # items of one list, tuple or dict, and of one iteration of a remote object
MAX_REPLY_CHARS = 512 << 20  # one encoded reply (about 380 MB of array data)
REF, NDARRAY, TENSOR, TUPLE, DICT, FLOAT, SCALAR = "$ref", "$nd", "$torch", "$tuple", "$dict", "$float", "$np"
SET = "$set"
MARKERS = (REF, NDARRAY, TENSOR, TUPLE, DICT, FLOAT, SCALAR, SET)


class AnswerError(ValueError):
    """An answer the grader cannot read (malformed, too large, too deep); the message says which."""


class RemoteError(Exception):
    """The submission's code raised an exception of a type the grader does not recreate; message: 'Type: text'."""


# ---------------------------------------------------------------- encoding (both sides)
def array_text(array: Any) -> str:
    """A NumPy array as base64 text of its .npy bytes (no pickles: object arrays are refused)."""
    import numpy as np

    if array.dtype.hasobject:
        raise TypeError("arrays of Python objects are not sent")
    buffer = io.BytesIO()
    np.save(buffer, array if array.flags.c_contiguous else array.copy(order="C"), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def encode(value: Any, refer: Callable[[Any], Any], depth: int = 0) -> Any:
    """A JSON-ready form of value; objects that are not plain data go through refer (a reference or an error)."""
    if depth > MAX_DEPTH:
        raise AnswerError(f"the answer is nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) in (int, bool):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {FLOAT: repr(value)}
    numpy = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and type(value) in (torch.Tensor, torch.nn.Parameter) and value.layout == torch.strided:
        data = value.detach().cpu()
        if data.dtype == torch.bfloat16:
            data = data.float()
        return {TENSOR: array_text(data.numpy()), "requires_grad": bool(value.requires_grad)}
    if numpy is not None and type(value) is numpy.ndarray and not value.dtype.hasobject:
        return {NDARRAY: array_text(value)}
    if numpy is not None and isinstance(value, numpy.generic) and not isinstance(value, numpy.object_):
        return {SCALAR: array_text(numpy.asarray(value))}
    if type(value) in (list, tuple, set, frozenset):
        if len(value) > MAX_ITEMS:
            raise AnswerError(f"a collection of {len(value):,} items is too long to check")
        items = [encode(item, refer, depth + 1) for item in value]
        return items if type(value) is list else {TUPLE: items} if type(value) is tuple else {SET: items}
    if type(value) is dict:
        if len(value) > MAX_ITEMS:
            raise AnswerError(f"a dict of {len(value):,} items is too long to check")
        return {DICT: [[encode(k, refer, depth + 1), encode(v, refer, depth + 1)] for k, v in value.items()]}
    return refer(value)


def decode(data: Any, remote: Callable[[int, list, str], Any], depth: int = 0) -> Any:
    """Values from encode's form; references become remote(id, type names, repr). Raises AnswerError when malformed."""
    if depth > MAX_DEPTH:
        raise AnswerError(f"the answer is nested more than {MAX_DEPTH} levels deep")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item, remote, depth + 1) for item in data]
    if not isinstance(data, dict) or len(data) > 3 or not any(key in data for key in MARKERS):
        raise AnswerError("the answer came back in a form the grader does not know")
    if FLOAT in data:
        if data[FLOAT] not in ("nan", "inf", "-inf"):
            raise AnswerError("a malformed number")
        return float(data[FLOAT])
    if TUPLE in data:
        return tuple(decode(item, remote, depth + 1) for item in expect(data[TUPLE], list))
    if SET in data:
        try:
            return {decode(item, remote, depth + 1) for item in expect(data[SET], list)}
        except TypeError as exc:  # an unhashable item
            raise AnswerError(f"a set item the grader cannot use: {exc}") from None
    if DICT in data:
        result = {}
        for pair in expect(data[DICT], list):
            key, value = expect(pair, list)
            key = decode(key, remote, depth + 1)
            try:
                result[key] = decode(value, remote, depth + 1)
            except TypeError as exc:  # an unhashable key
                raise AnswerError(f"a dict key the grader cannot use: {exc}") from None
        return result
    if NDARRAY in data or SCALAR in data:
        array = read_array(data.get(NDARRAY, data.get(SCALAR)))
        return array if NDARRAY in data else array[()]
    if TENSOR in data:
        import torch

        tensor = torch.from_numpy(read_array(data[TENSOR]).copy())
        return tensor.requires_grad_(True) if data.get("requires_grad") is True and tensor.is_floating_point() else tensor
    reference = data[REF]
    if not isinstance(reference, int):
        raise AnswerError("a malformed reference")
    return remote(reference, expect(data.get("types", []), list), str(data.get("repr", ""))[:200])


def expect(value: Any, kind: type) -> Any:
    """value when it is of kind, else AnswerError."""
    if not isinstance(value, kind):
        raise AnswerError("the answer came back in a form the grader does not know")
    return value


def read_array(text: Any) -> Any:
    """A NumPy array from array_text's form, refusing pickled objects."""
    import numpy as np

    try:
        return np.load(io.BytesIO(base64.b64decode(expect(text, str), validate=True)), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise AnswerError(f"an array that cannot be read: {exc}") from None


# ---------------------------------------------------------------- kernel side
_objects: dict[int, Any] = {}
_ids = itertools.count(1)


def type_names(value: Any) -> list[list[str]]:
    """[module, qualified name] of each class in value's method resolution order (object left out)."""
    return [[c.__module__, c.__qualname__] for c in type(value).__mro__ if c is not object][:20]


def refer(value: Any) -> dict:
    """Keep value in the kernel and send a reference to it."""
    number = next(_ids)
    _objects[number] = value
    try:
        shown = repr(value)[:200]
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        shown = type(value).__name__
    return {REF: number, "types": type_names(value), "repr": shown}


def local(data: Any) -> Any:
    """A value sent by the grader: plain data, or one of this kernel's objects by reference."""
    return decode(data, lambda number, _types, _repr: _objects[number])


def handle(request: str) -> str:
    """Answer one grader request (JSON text) with JSON text: {"ok": encoded value} or {"error": [type, message]}."""
    try:
        ask = json.loads(request)
        operation = ask["op"]
        target = _objects[ask["ref"]] if "ref" in ask else None
        if operation == "eval":
            from IPython import get_ipython

            namespace = get_ipython().user_ns
            value = eval(compile(ask["expr"], "<answer>", "eval"), namespace)  # noqa: S307 - the student's own kernel
        elif operation == "call":
            value = target(*local(ask["args"]), **local(ask["kwargs"]))
        elif operation == "getattr":
            value = getattr(target, ask["name"])
        elif operation == "getitem":
            value = target[local(ask["key"])]
        elif operation == "len":
            value = len(target)
        elif operation == "bool":
            value = bool(target)
        elif operation == "list":
            value = list(itertools.islice(iter(target), MAX_ITEMS + 1))
            if len(value) > MAX_ITEMS:
                raise AnswerError(f"more than {MAX_ITEMS:,} items to go through")
        elif operation == "next":
            value = next(target)
        elif operation == "patched":
            value = patched_modules(ask.get("prefixes", []))
        else:
            raise AnswerError(f"unknown request {operation!r}")
        reply = json.dumps({"ok": encode(value, refer)}, allow_nan=False)
    except BaseException as exc:  # noqa: BLE001 - whatever the student's code raises goes back as an error
        kind = type(exc)
        name = kind.__name__ if getattr(builtins, kind.__name__, None) is kind else f"{kind.__module__}.{kind.__qualname__}"
        try:
            message = str(exc)[:2000]
        except Exception:  # noqa: BLE001
            message = ""
        reply = json.dumps({"error": [name, message]})
    if len(reply) > MAX_REPLY_CHARS:
        reply = json.dumps({"error": ["AnswerError", f"the answer is too large to check ({len(reply):,} characters)"]})
    return reply


def patched_modules(prefixes: list[str]) -> list[str]:
    """`module.name` of attributes of loaded modules (those under the prefixes) that the notebook itself defined."""
    found = []
    for name, module in list(sys.modules.items()):
        if not isinstance(module, types.ModuleType) or name == "__main__":
            continue
        if prefixes and not any(name == p or name.startswith(p + ".") for p in prefixes):
            continue
        try:
            items = list(vars(module).items())
        except TypeError:
            continue
        found += [f"{name}.{attr}" for attr, value in items
                  if callable(value) and getattr(value, "__module__", None) == "__main__"]
    return sorted(found)
