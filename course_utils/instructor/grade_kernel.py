"""The grader's side of a graded submission's kernel: its source is injected, run first, by course_utils.instructor.grade.

Not imported by the grader itself. The set-up cell execs this file's text and calls `install(nonce, purge)` before
any cell of the submission runs; it snapshots what the submission could later tamper with (builtins, the import
path and finders, IPython's display publisher). Each grader check cell then calls `Grader.check`, which

* puts the snapshot builtins back and imports the checker modules fresh from the grader's own files (the
  modules named in `purge` and their submodules are dropped from sys.modules first; the submission's working
  folder is not on the path while they load, so a checker file the submission wrote there is never used);
* refuses to trust a check when any loaded module holds a function the notebook defined (`np.allclose = ...`,
  `course_utils.optim_demos.linear_cost = ...`): such a check earns no points and says why;
* runs the instructor's check source in the notebook's namespace and publishes the outcome as one display
  output of its own MIME type, carrying the per-run nonce, which the grader reads back from that cell only.

Limits: this is not a sandbox. A submission that writes code aimed at the grader itself (IPython input
transformers, trace hooks, reading the running cell's source) could still forge a result; every graded copy is
kept for spot checks.
"""
from __future__ import annotations

import builtins
import importlib
import os
import sys
import types

MIME = "application/vnd.course-kit.grade+json"
MAX_HINT = 600  # characters of a hint kept (a submission's function may raise with a huge message)


def _clip(text: str, limit: int = MAX_HINT) -> str:
    """Text cut to limit characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Grader:
    """The snapshot taken before the submission runs, and the checks that use it."""

    def __init__(self, nonce: str, purge: list[str]) -> None:
        from IPython import get_ipython

        self.nonce = nonce
        self.purge = list(purge)
        self.builtins = dict(builtins.__dict__)
        self.cwd = os.getcwd()
        self.path = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != self.cwd]
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        shell = get_ipython()
        self.publish = shell.display_pub.publish  # bound now: a later patch of the class does not reach it
        self.shell = shell
        self.exec, self.compile, self.vars = exec, compile, vars
        self.modules = sys.modules

    def tampered(self, namespace: dict) -> list[str]:
        """`module.name` of every module attribute that is a function or class defined by the notebook itself
        (the notebook's own module, under any alias such as multiprocessing's __mp_main__, is left out)."""
        found = []
        for name, module in list(self.modules.items()):
            if not isinstance(module, types.ModuleType):
                continue
            try:
                items = self.vars(module)
            except TypeError:
                continue
            if items is namespace or name == "__main__":
                continue
            items = list(items.items())
            for attr, value in items:
                if callable(value) and getattr(value, "__module__", None) == "__main__":
                    found.append(f"{name}.{attr}")
        return sorted(found)

    def fresh_imports(self) -> None:
        """Forget the checker modules so the check's import statements load them again from the grader's files."""
        for name in list(self.modules):
            if any(name == p or name.startswith(p + ".") for p in self.purge):
                del self.modules[name]
        importlib.invalidate_caches()

    def check(self, exercise: str, source: str, namespace: dict) -> None:
        """Run one exercise's check source in the notebook namespace and publish the outcome with the nonce."""
        builtins.__dict__.update(self.builtins)
        tampered = self.tampered(namespace)
        saved = list(sys.path), list(sys.meta_path), list(sys.path_hooks)
        sys.path[:], sys.meta_path[:], sys.path_hooks[:] = self.path, self.meta_path, self.path_hooks
        sys.path_importer_cache.clear()
        status, hint = "passed", ""
        try:
            self.fresh_imports()
            self.exec(self.compile(source, f"<grader check {exercise}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - anything a submission raises is a failed check, never a crash
            status = "failed"
            message = str(exc)
            if type(exc).__name__ == "ExerciseFailed":
                hint = _clip(message)
            else:
                hint = _clip(f"The check could not run: {type(exc).__name__}: {message}. Run your notebook from "
                             "the top (Kernel > Restart and run all) to see where it goes wrong.")
        finally:
            sys.path[:], sys.meta_path[:], sys.path_hooks[:] = saved
            sys.path_importer_cache.clear()
        if tampered and status == "passed":
            shown = ", ".join(tampered[:5]) + (" …" if len(tampered) > 5 else "")
            status, hint = "failed", _clip(f"Your notebook replaced {shown} (code the checks rely on), so this "
                                           "check cannot be trusted and earns no points. Remove that assignment.")
        self.publish({MIME: {"nonce": self.nonce, "exercise": exercise, "status": status, "hint": hint},
                      "text/plain": f"grader: {exercise} {status}"}, metadata={})
        self.forget_sources()

    def forget_sources(self) -> None:
        """Best effort: drop the grader cells' text (which holds the nonce) from the kernel's input history."""
        placeholder = "# (grader cell)"
        try:
            history = self.shell.history_manager
            for inputs in (history.input_hist_parsed, history.input_hist_raw):
                for index, text in enumerate(inputs):
                    if self.nonce in text:
                        inputs[index] = placeholder
            for name in ("_i", "_ii", "_iii", "_i00"):
                if self.nonce in str(getattr(history, name, "")):
                    setattr(history, name, placeholder)
            namespace = self.shell.user_ns
            for name in [n for n in namespace if n.startswith("_i")]:
                if isinstance(namespace[name], str) and self.nonce in namespace[name]:
                    namespace[name] = placeholder
        except Exception:  # noqa: BLE001 - history layout differs between IPython versions
            pass


def install(nonce: str, purge: list[str]) -> None:
    """Take the snapshot and register the grader under a module name only the grader's cells know."""
    grader = Grader(nonce, purge)
    sys.modules[f"_course_kit_grader_{nonce}"] = types.SimpleNamespace(check=grader.check)  # type: ignore[assignment]
    grader.forget_sources()
