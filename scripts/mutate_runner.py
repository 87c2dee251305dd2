"""pytest plugin for scripts/mutate.py: runs many mutants in one pytest process.

Loaded with `-p mutate_runner` (scripts/ on PYTHONPATH), MUTATE_PLAN (a JSON
list of {"id", "file", "number", "tests", "timeout"}) and MUTATE_OUT. Instead
of the usual test loop it applies each mutant in memory, runs its tests in
order until one fails, and puts the module back:

- functions keep their identity (the app's before_request hook, the SCOPES
  table and `from … import name` elsewhere all hold the same objects): their
  code and defaults are swapped, and swapped back;
- dicts (POLICY, ROUTES, …) are changed in place, so every holder sees it;
- other module-level values are rebound in the module and wherever another
  webapp module imported the same object under the same name.

A process start (imports, app, migrations) costs seconds on this machine; a
mutant killed by its first test costs a fraction of one. scripts/mutate.py
--check runs one mutant the slow way, from a copy of the file, to confirm.
"""
from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
import types

import pytest
from _pytest.runner import runtestprotocol

MISSING = object()


class MutantTimeout(Exception):
    pass


def _swap_function(old, new, undo) -> None:
    if getattr(old, "__wrapped__", None) is not None and hasattr(old, "cache_clear"):
        _swap_function(old.__wrapped__, new.__wrapped__, undo)
        old.cache_clear()
        undo.append(old.cache_clear)
        return
    if len(old.__code__.co_freevars) != len(new.__code__.co_freevars):
        raise RuntimeError(f"cannot swap {old.__qualname__}: closures differ")
    saved = (old.__code__, old.__defaults__, old.__kwdefaults__)

    def back():
        old.__code__, old.__defaults__, old.__kwdefaults__ = saved
    undo.append(back)
    old.__code__, old.__defaults__, old.__kwdefaults__ = (new.__code__, new.__defaults__,
                                                          new.__kwdefaults__)


def _swap_class(old: type, new: type, undo) -> None:
    for name, value in new.__dict__.items():
        current = old.__dict__.get(name, MISSING)
        if isinstance(value, types.FunctionType) and isinstance(current, types.FunctionType):
            _swap_function(current, value, undo)
        elif isinstance(value, property) and isinstance(current, property) and value.fget:
            _swap_function(current.fget, value.fget, undo)
        elif (isinstance(value, (int, float, str, bool, type(None))) and not name.startswith("__")
              and (current is MISSING or type(current) is not type(value) or current != value)):
            def back(name=name, current=current):
                if current is MISSING:
                    delattr(old, name)
                else:
                    setattr(old, name, current)
            undo.append(back)
            setattr(old, name, value)


def _rebind(module, name: str, old, new, undo) -> None:
    holders = [module] + [m for n, m in list(sys.modules.items())
                          if m is not module and n.startswith("webapp")
                          and getattr(m, name, MISSING) is old]
    for holder in holders:
        def back(holder=holder):
            setattr(holder, name, old)
        undo.append(back)
        setattr(holder, name, new)


def apply(module_name: str, source: str, filename: str) -> list:
    """Put `source` in place of the module's code; returns the undo steps."""
    module = sys.modules[module_name]
    ns = {"__name__": module_name, "__package__": module.__package__, "__file__": filename,
          "__builtins__": __builtins__}
    exec(compile(source, filename, "exec"), ns)
    undo: list = []
    try:
        def translate(value):
            if isinstance(value, types.FunctionType) and value.__globals__ is ns:
                return module.__dict__.get(value.__name__, value)
            return value

        for name, new in ns.items():
            if name.startswith("__") and name.endswith("__"):
                continue
            old = module.__dict__.get(name, MISSING)
            if old is new:
                continue
            if isinstance(old, types.FunctionType) and isinstance(new, types.FunctionType):
                _swap_function(old, new, undo)
            elif isinstance(old, functools._lru_cache_wrapper) and isinstance(
                    new, functools._lru_cache_wrapper):
                _swap_function(old, new, undo)
            elif isinstance(old, type) and isinstance(new, type):
                _swap_class(old, new, undo)
            elif type(old) is dict and type(new) is dict:
                saved = dict(old)

                def back(old=old, saved=saved):
                    old.clear()
                    old.update(saved)
                undo.append(back)
                old.clear()
                old.update({k: translate(v) for k, v in new.items()})
            elif old is MISSING:
                continue
            else:
                _rebind(module, name, old, new, undo)
    except BaseException:
        restore(undo)
        raise
    return undo


def restore(undo: list) -> None:
    for step in reversed(undo):
        step()


def _run(session, item, nextitem):
    """One test, its own fixtures set up afresh (an item may run once per
    mutant: what it set up is torn down before it runs again)."""
    session._setupstate.teardown_exact(item.parent)
    if nextitem is item:
        nextitem = item.parent
    return runtestprotocol(item, log=False, nextitem=nextitem)


def _alarm(_signum, _frame):
    raise MutantTimeout("the mutant's tests ran out of time")


class Runner:
    def __init__(self, config):
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        sys.path.insert(0, os.path.dirname(__file__))
        import mutate

        with open(os.environ["MUTATE_PLAN"]) as f:
            plan = json.load(f)
        items = {item.nodeid: item for item in session.items}
        batches = []
        for entry in plan:
            tests = [items[n] for n in entry["tests"] if n in items]
            tests += [item for n in entry["tests"] if n not in items
                      for i, item in items.items() if i.startswith(n)]
            batches.append((entry, tests))
        order = [b for b in batches if b[1]]
        results = {}
        signal.signal(signal.SIGALRM, _alarm)
        out_path = os.environ["MUTATE_OUT"]
        for k, (entry, tests) in enumerate(order):
            after = order[k + 1][1][0] if k + 1 < len(order) else None
            started = time.monotonic()
            status, killed_by, ran = "survived", None, 0
            try:
                source = mutate.mutated_source(entry["file"], entry["number"])
                module_name = entry["file"].removesuffix(".py").replace("/", ".")
                undo = apply(module_name, source, str(mutate.ROOT / entry["file"]))
            except Exception as exc:  # the mutant does not even import
                status, killed_by = "killed", f"import: {type(exc).__name__}: {exc}"[:200]
                undo = None
            if undo is not None:
                signal.setitimer(signal.ITIMER_REAL, entry["timeout"])
                try:
                    for j, item in enumerate(tests):
                        nxt = tests[j + 1] if j + 1 < len(tests) else after
                        ran += 1
                        reports = _run(session, item, nxt)
                        failed = [r for r in reports if r.failed]
                        if failed:
                            timeout = "MutantTimeout" in str(failed[0].longrepr)
                            status = "timeout" if timeout else "killed"
                            killed_by = item.nodeid
                            entry["detail"] = str(failed[0].longrepr)[-1200:]
                            break
                except MutantTimeout:
                    status, killed_by = "timeout", "the whole batch"
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    restore(undo)
                if status == "killed":
                    # The same test unmutated must pass, or the process is broken.
                    item = items[killed_by]
                    reports = _run(session, item, after)
                    bad = [r for r in reports if r.failed]
                    if bad:
                        status = "error"
                        killed_by += " (fails unmutated too: state left behind)"
                        entry["detail"] = str(bad[0].longrepr)[-1500:]
            results[entry["id"]] = {"status": status, "killed_by": killed_by, "tests_run": ran,
                                    "detail": entry.get("detail"),
                                    "seconds": round(time.monotonic() - started, 2)}
            mark = {"killed": ".", "timeout": "T", "survived": "S", "error": "E"}[status]
            with open(out_path + ".log", "a") as log:
                log.write(f"{mark} {entry['id']} ({ran} tests, "
                          f"{time.monotonic() - started:.1f} s)\n")
            with open(out_path, "w") as out:
                json.dump(results, out)
        session._setupstate.teardown_exact(None)
        with open(out_path, "w") as out:
            json.dump(results, out)
        return True


def pytest_configure(config):
    config.pluginmanager.register(Runner(config), "mutate-runner")
