"""A fast mutant checker for the tiny packages (trusted code of our own).

Running pytest once per candidate bug costs ~0.5 s; the tiny task set has a few
hundred candidates. This harness runs in **one** child process per package (the
``process`` sandbox: rlimits, a wall-clock limit) and, for each mutant, imports
the mutated package from memory and calls every ``test_*`` function of the
package's tests, with a per-mutant CPU-time alarm against mutants that loop. Test ids are
pytest's (``tests/test_x.py::test_name``), so its verdicts line up with the
grader's; the env's tests check that the oracle scores 1 and the unchanged
repository 0 *through pytest* on every val task.

Only for plain ``test_*`` functions (no fixtures, no parametrize): the real
projects go through :func:`agentgym.envs.code_repair.grading.run_tests`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence

from agentgym.sandbox import Limits, load_sandbox

__all__ = ["check_mutants"]

_HARNESS = r"""
import importlib.abc, importlib.util, json, signal, sys, traceback

job = json.load(sys.stdin)
files = job["files"]

class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    sources = {}
    def find_spec(self, name, path, target=None):
        for rel in (name.replace(".", "/") + ".py", name.replace(".", "/") + "/__init__.py"):
            if rel in self.sources:
                return importlib.util.spec_from_loader(name, self, is_package=rel.endswith("__init__.py"))
        if any(p.startswith(name.replace(".", "/") + "/") for p in self.sources):  # a folder without __init__
            return importlib.util.spec_from_loader(name, self, is_package=True)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        name = module.__name__.replace(".", "/")
        rel = name + ".py" if name + ".py" in self.sources else name + "/__init__.py"
        module.__file__ = rel
        module.__path__ = [name] if rel.endswith("__init__.py") or rel not in self.sources else []
        if not module.__path__:
            del module.__path__
        exec(compile(self.sources.get(rel, ""), rel, "exec"), module.__dict__)

finder = Finder()
sys.meta_path.insert(0, finder)
ours = {p.split("/")[0].removesuffix(".py") for p in files}

class Alarm(Exception):
    pass

def on_alarm(signum, frame):
    raise Alarm("timed out")

# CPU time, not wall time: a loaded machine must not turn slow imports into "bugs".
signal.signal(signal.SIGPROF, on_alarm)
import pytest  # noqa: E402,F401  (imported once, outside every mutant's budget)

def run(sources):
    finder.sources = sources
    for mod in [m for m in sys.modules if m.split(".")[0] in ours]:
        del sys.modules[mod]
    results = {}
    for rel in sorted(p for p in sources if p.startswith("tests/") and p.split("/")[-1].startswith("test_")):
        mod_name = rel[:-3].replace("/", ".")
        try:
            mod = importlib.import_module(mod_name)
        except BaseException as e:
            results[rel] = "error: " + type(e).__name__ + ": " + str(e)[:200]
            continue
        for name in sorted(n for n in vars(mod) if n.startswith("test_") and callable(getattr(mod, n))):
            try:
                getattr(mod, name)()
                results[rel + "::" + name] = "passed"
            except BaseException as e:
                results[rel + "::" + name] = ("failed: " + type(e).__name__ + ": " + str(e))[:300]
    return results

out = []
for mutant in job["mutants"]:
    sources = dict(files)
    for edit in mutant:
        text = sources[edit["path"]]
        sources[edit["path"]] = text[: edit["start"]] + edit["replacement"] + text[edit["end"] :]
    signal.setitimer(signal.ITIMER_PROF, 2.0)
    try:
        out.append(run(sources))
    except BaseException as e:
        out.append({"*": "error: " + type(e).__name__})
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
json.dump(out, sys.stdout)
"""


def check_mutants(
    files: Mapping[str, str],
    mutants: Sequence[Sequence[Mapping[str, object]]],
    *,
    timeout_s: float = 600.0,
) -> list[dict[str, str]]:
    """Test id -> ``"passed"`` or ``"failed: ..."``/``"error: ..."`` for each mutant
    (a list of splices ``{"path", "start", "end", "replacement"}``; ``[]`` is the
    unchanged package)."""
    import tempfile

    sandbox = load_sandbox("process")
    job = json.dumps({"files": dict(files), "mutants": [list(m) for m in mutants]})
    with tempfile.TemporaryDirectory(prefix="cr-harness-") as tmp:
        res = sandbox.run(
            [sys.executable, "-I", "-c", _HARNESS], workdir=tmp, stdin=job,
            limits=Limits(timeout_s=timeout_s, memory_mb=2048, max_output_bytes=64 << 20),
        )  # fmt: skip
    if not res.ok:
        raise RuntimeError(f"the mutant harness failed (rc={res.returncode}): {res.stderr[-2000:]}")
    return json.loads(res.stdout)
