"""The answer wire between a graded kernel and the grader (course_utils.instructor.answers, grade_driver.Remote):
values survive the trip exactly, nothing from the kernel can run code in the grader, and a remote object claims
only classes the grader already has."""
from __future__ import annotations

import base64
import io
import json
import math
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.instructor import answers
from course_utils.instructor.answers import AnswerError, decode, encode, handle
from course_utils.instructor.grade_driver import Remote, claimed_class, rebuilt_exception


def round_trip(value):
    kept = {}

    def refer(obj):
        kept[id(obj)] = obj
        return {"$ref": id(obj) % 1_000_000, "types": answers.type_names(obj), "repr": "x"}

    text = json.dumps(encode(value, refer), allow_nan=False)
    return decode(json.loads(text), lambda number, types, shown: ("remote", number, types))


def test_plain_values_come_back_equal_and_of_the_same_kind():
    value = {"a": [1, 2.5, None, True, "한국어"], 1.4: (3, "x"), (1, 2): {"nested": [[1], [2, [3]]]}}
    assert round_trip(value) == value
    assert type(round_trip((1, 2))) is tuple and type(round_trip([1, 2])) is list
    assert round_trip({"가", "나", 3}) == {"가", "나", 3} and round_trip(frozenset()) == set()
    assert type(round_trip(True)) is bool and type(round_trip(1)) is int


def test_special_floats_arrays_scalars_and_tensors_keep_their_values_and_types():
    back = round_trip([math.nan, math.inf, -math.inf])
    assert math.isnan(back[0]) and back[1:] == [math.inf, -math.inf]
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    got = round_trip(array)
    assert got.dtype == np.int16 and got.shape == (3, 4) and (got == array).all()
    scalar = round_trip(np.float32(0.25))
    assert isinstance(scalar, np.floating) and scalar.dtype == np.float32 and scalar == 0.25
    tensor = torch.linspace(0, 1, 5, requires_grad=True)
    got = round_trip(tensor)
    assert isinstance(got, torch.Tensor) and torch.equal(got.detach(), tensor.detach()) and got.requires_grad
    assert round_trip(nn.Parameter(torch.ones(2))).dtype == torch.float32


def test_objects_that_are_not_data_go_by_reference():
    model = nn.Linear(3, 2)
    kind, _, types = round_trip(model)
    assert kind == "remote" and ["torch.nn.modules.linear", "Linear"] in types
    assert round_trip(np.array([object()], dtype=object))[0] == "remote"  # object arrays are never pickled


def test_malformed_or_dangerous_answers_are_refused():
    no_remote = lambda *a: pytest.fail("no reference expected")  # noqa: E731
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    pickled = base64.b64encode(buffer.getvalue()).decode()
    for bad in ({"$nd": pickled}, {"$nd": "not base64!"}, {"$float": "1e400"}, {"unknown": 1}, {"$ref": "1"},
                {"$dict": [[["unhashable"], 1]]}, {"$tuple": 3}):
        with pytest.raises(AnswerError):
            decode(bad, no_remote)
    deep = current = []
    for _ in range(answers.MAX_DEPTH + 5):
        current.append([])
        current = current[0]
    with pytest.raises(AnswerError):
        decode(json.loads(json.dumps(deep)), no_remote)
    with pytest.raises(AnswerError):
        encode(deep, no_remote)
    assert b"evil" in pickle.dumps({"evil": 1})  # (the pickled payload above really carried an object)


def test_the_kernel_side_answers_calls_attributes_items_and_errors(monkeypatch):
    namespace = {"double": lambda x: 2 * x, "model": nn.Sequential(nn.Linear(4, 3), nn.ReLU()), "data": [5, 6]}

    class Shell:
        user_ns = namespace

    monkeypatch.setattr("IPython.get_ipython", lambda: Shell())

    def ask(**request):
        return json.loads(handle(json.dumps(request)))

    ref = ask(op="eval", expr="double")["ok"]["$ref"]
    assert ask(op="call", ref=ref, args=[21], kwargs={"$dict": []})["ok"] == 42
    model = ask(op="eval", expr="model")["ok"]
    assert ["torch.nn.modules.container", "Sequential"] in model["types"]
    first = ask(op="getitem", ref=model["$ref"], key=0)["ok"]
    assert ask(op="getattr", ref=first["$ref"], name="out_features")["ok"] == 3
    assert ask(op="len", ref=model["$ref"])["ok"] == 2
    assert ask(op="eval", expr="data[5]")["error"] == ["IndexError", "list index out of range"]
    assert ask(op="eval", expr="undefined_name")["error"][0] == "NameError"
    assert ask(op="nonsense")["error"][0].endswith("AnswerError")


def test_a_remote_claims_only_classes_the_grader_has_loaded():
    assert claimed_class([["torch.nn.modules.linear", "Linear"]]) is nn.Linear
    assert claimed_class([["__main__", "Net"], ["torch.nn.modules.module", "Module"]]) is nn.Module
    assert claimed_class([["a_module_nobody_imported", "Thing"]]) is None
    assert claimed_class([["builtins", "object"]]) is None
    assert claimed_class([["os", "system"]]) is None  # a function, not a class
    remote = Remote(None, 1, nn.Linear, "Linear(3, 2)")
    assert isinstance(remote, nn.Linear) and isinstance(remote, nn.Module) and isinstance(remote, Remote)
    assert not isinstance(Remote(None, 2, None, "thing"), nn.Module)
    with pytest.raises(AttributeError):
        remote.__array_interface__  # noqa: B018 - protocol probes are not sent to the kernel


def test_exceptions_come_back_as_builtin_types_only():
    assert type(rebuilt_exception("NotImplementedError", "later")) is NotImplementedError
    assert type(rebuilt_exception("ValueError", "bad")) is ValueError
    assert type(rebuilt_exception("SystemExit", "0")).__name__ == "RemoteError"  # not an Exception subclass
    assert type(rebuilt_exception("torch.OutOfMemoryError", "x")).__name__ == "RemoteError"
    assert type(rebuilt_exception("__import__", "os")).__name__ == "RemoteError"
