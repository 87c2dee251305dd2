"""pytest plugin for scripts/mutate.py: which test runs which lines.

Loaded with `-p mutate_trace` (scripts/ on PYTHONPATH) and MUTATE_TRACE_FILES
(the absolute paths to watch, separated by os.pathsep) and MUTATE_TRACE_OUT
(where to write the JSON). For every test it records the lines of the watched
files that ran (setup, call and teardown), the endpoints it requested, its
duration and whether it passed. Not used by the test suite itself.
"""
from __future__ import annotations

import json
import os
import sys
import threading

_WATCHED = frozenset(p for p in os.environ.get("MUTATE_TRACE_FILES", "").split(os.pathsep) if p)
_lines: set[tuple[str, int]] = set()
_endpoints: set[str] = set()
_tests: dict[str, dict] = {}


def _local(frame, event, _arg):
    if event == "line":
        _lines.add((frame.f_code.co_filename, frame.f_lineno))
    return _local


def _global(frame, event, _arg):
    if frame.f_code.co_filename in _WATCHED:
        _lines.add((frame.f_code.co_filename, frame.f_lineno))
        return _local
    return None


def pytest_configure(config):
    from flask import request, request_started

    def seen(_sender, **_kw):
        _endpoints.add(request.endpoint or "")

    request_started.connect(seen, weak=False)


def _start():
    _lines.clear()
    _endpoints.clear()
    threading.settrace(_global)
    sys.settrace(_global)


def _stop():
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type]


def pytest_runtest_protocol(item, nextitem):
    _start()
    _tests[item.nodeid] = {"passed": True, "duration": 0.0}
    return None


def pytest_runtest_logreport(report):
    entry = _tests.setdefault(report.nodeid, {"passed": True, "duration": 0.0})
    entry["duration"] += report.duration
    if report.failed or (report.when == "call" and report.outcome != "passed"):
        entry["passed"] = False
    if report.when == "teardown":
        _stop()
        files: dict[str, list[int]] = {}
        for filename, line in _lines:
            files.setdefault(filename, []).append(line)
        entry["lines"] = {f: sorted(ls) for f, ls in files.items()}
        entry["endpoints"] = sorted(e for e in _endpoints if e)


def pytest_sessionfinish(session, exitstatus):
    _stop()
    with open(os.environ["MUTATE_TRACE_OUT"], "w") as out:
        json.dump(_tests, out)
