"""Mutation testing for the code where a mistake is a person's safety or privacy:
the access policy, exactly-once submissions, check-ins and alerts (issue #25).

    .venv/bin/python scripts/mutate.py                 # every target, 2 workers
    .venv/bin/python scripts/mutate.py --only webapp/alerts/routing.py
    .venv/bin/python scripts/mutate.py --list          # the mutants, nothing run
    .venv/bin/python scripts/mutate.py --show alerts/service.py:12
    .venv/bin/python scripts/mutate.py --check alerts/service.py:12,alerts/service.py:13 \
        -- tests/test_mutants_alerts.py

Each mutant is one small change to one target file: a comparison flipped or
moved by one (`<` to `<=`), a condition negated, `and`/`or` swapped, a
constant changed, a statement dropped (a call, an assignment to an attribute,
a `raise`, a `continue`), a return value replaced by None, a condition of a
`.where()` dropped, a role or severity swapped, `min`/`max`, `is_`/`is_not`,
`asc`/`desc` swapped; in the access policy a rule opened to every role, or its
scope or its ledger entry dropped. mutmut 3 would not do here: it mutates only
inside functions, and the policy and the alert routing are module-level tables.

First the whole suite (`-m "not browser"`) runs once on a copy of the work tree
with a tracer (scripts/mutate_trace.py) that records which test runs which line
of the targets and which endpoints it requests. Each mutant then runs only the
tests that run its line (for a policy rule: that request its endpoint; for a
module-level value: that run a line using it), its file's own tests first,
then the fastest, at most MAX_TESTS, stopping at the first failure. A few
pytest processes (--jobs) run all the mutants in memory, one after the other
(scripts/mutate_runner.py): a failing or hanging test kills the mutant. The
results go to <workdir>/results.json; the survivors are printed. See
docs/mutation.md for the last results and what each survivor is.

Nothing under webapp/ is changed: mutants live in memory, or (--check-slow) in
a copy of the work tree.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS = [
    "webapp/submissions.py",
    "webapp/checkins/service.py",
    "webapp/alerts/service.py",
    "webapp/alerts/routing.py",
    "webapp/access.py",
]
# The test files of each target: its mutants run theirs first (and the
# tests/test_mutants_*.py written against its survivors).
HOME = {
    "webapp/submissions.py": ["test_submissions", "test_checkins", "test_support"],
    "webapp/checkins/service.py": ["test_checkins", "test_groups", "test_privacy",
                                   "test_push_reminders"],
    "webapp/alerts/service.py": ["test_alerts", "test_support", "test_monitoring"],
    "webapp/alerts/routing.py": ["test_alerts", "test_support", "test_checkins"],
    "webapp/access.py": ["test_access_policy", "test_people", "test_plan", "test_support",
                         "test_groups", "test_monitoring", "test_alerts"],
}
# A module-level line of these runs at import, before any test, and feeds
# everything: its mutants run these test files (others: the tests that run any
# line of the file or of its READERS).
MODULE_TESTS = {
    "webapp/access.py": ["test_access_policy", "test_staff_signin", "test_people"],
    "webapp/alerts/routing.py": ["test_alerts", "test_support", "test_checkins"],
}
# At most this many tests per mutant, its home tests and the fastest first: a
# line every request runs (access.enforce) would otherwise run the whole suite.
MAX_TESTS = 30
# A module-level line runs at import, before any test: its mutants run the
# tests that run any line of these files (the code that reads the constant).
READERS = {
    "webapp/alerts/routing.py": ["webapp/alerts/service.py", "webapp/alerts/routes.py"],
}
TRACED = sorted(set(TARGETS) | {f for files in READERS.values() for f in files})
# Test files of the access policy itself: they run for every policy mutant.
POLICY_TESTS = ["tests/test_access_policy.py"]
COPIED = ["webapp", "tests", "migrations", "alembic.ini", "pyproject.toml", "babel.cfg", "wsgi.py"]

# --- Mutants -------------------------------------------------------------------

CMP_ALTERNATIVES: dict[type, list[type]] = {
    ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.Is: [ast.IsNot], ast.IsNot: [ast.Is],
    ast.In: [ast.NotIn], ast.NotIn: [ast.In],
    ast.Lt: [ast.LtE, ast.GtE], ast.LtE: [ast.Lt, ast.Gt],
    ast.Gt: [ast.GtE, ast.LtE], ast.GtE: [ast.Gt, ast.Lt],
}
CMP_SYMBOLS = {ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
               ast.NotIn: "not in", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
FLIP_ONLY = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn)
BINOP_ALTERNATIVES = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
# Names swapped for a neighbour: roles, severities, min/max.
NAME_SWAPS = {
    "COORDINATOR": ["CASEWORKER"], "CASEWORKER": ["COORDINATOR"],
    "RETURNEE": ["FACILITATOR"], "FACILITATOR": ["RETURNEE"],
    "URGENT": ["SERIOUS"], "SERIOUS": ["URGENT", "NORMAL"], "NORMAL": ["SERIOUS"],
    "max": ["min"], "min": ["max"],
}
ATTR_SWAPS = {"is_": "is_not", "is_not": "is_", "asc": "desc", "desc": "asc",
              "max": "min", "min": "max", **{k: v[0] for k, v in NAME_SWAPS.items()
                                              if k.isupper()}}
# Tables whose keys are checked against the app by a test of their own (every
# endpoint has a rule, every signal kind a route): their keys are not mutated.
KEYED_TABLES = {"POLICY", "ROUTES"}
QUIET_CALLS = {"_l", "_", "gettext", "lazy_gettext", "getLogger"}
LOGGERS = {"log", "logger", "logging"}


@dataclass
class Mutant:
    id: str  # short file name:number
    file: str
    line: int
    desc: str
    where: str  # "function", "module" or "policy"
    function: str | None = None
    endpoint: str | None = None
    status: str = "pending"  # killed | survived | timeout | uncovered | pending
    tests_run: int = 0
    seconds: float = 0.0
    killed_by: str | None = None


@dataclass
class _Ctx:
    function: str | None = None
    defaults: bool = False  # a default argument: evaluated at import
    endpoint: str | None = None
    quiet: bool = False  # message and log arguments: constants not mutated


@dataclass
class _Site:
    line: int
    desc: str
    ctx: _Ctx
    apply: Callable[[], None] = field(repr=False)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _call_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        if isinstance(f.value, ast.Name) and f.value.id in LOGGERS:
            return "log"
        return f.attr
    return ""


def _setter(parent: ast.AST, name: str, index: int | None) -> Callable[[ast.AST], None]:
    def put(new: ast.AST) -> None:
        if index is None:
            setattr(parent, name, new)
        else:
            getattr(parent, name)[index] = new
    return put


def sites(tree: ast.Module) -> list[_Site]:
    """Every mutation of the tree, in a fixed order (the same for every parse)."""
    found: list[_Site] = []

    def add(node: ast.AST, desc: str, ctx: _Ctx, apply: Callable[[], None]) -> None:
        found.append(_Site(getattr(node, "lineno", 0), desc, ctx, apply))

    def body(stmts: list[ast.stmt], parent: ast.AST, name: str, ctx: _Ctx) -> None:
        for i, stmt in enumerate(stmts):
            if i == 0 and _is_docstring(stmt) and isinstance(
                    parent, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            statement(stmt, parent, name, i, ctx)

    def drop(stmt: ast.stmt, parent: ast.AST, name: str, i: int, ctx: _Ctx, what: str) -> None:
        def apply():
            getattr(parent, name)[i] = ast.copy_location(ast.Pass(), stmt)
        add(stmt, f"drop {what}: {ast.unparse(stmt).splitlines()[0][:70]}", ctx, apply)

    def statement(stmt: ast.stmt, parent: ast.AST, name: str, i: int, ctx: _Ctx) -> None:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            qual = stmt.name if ctx.function is None else f"{ctx.function}.{stmt.name}"
            inner = _Ctx(function=qual)
            for d_parent, d_name in ((stmt.args, "defaults"), (stmt.args, "kw_defaults")):
                for j, d in enumerate(getattr(d_parent, d_name)):
                    if d is not None:
                        expr(d, d_parent, d_name, j, _Ctx(function=qual, defaults=True))
            body(stmt.body, stmt, "body", inner)
            return
        if isinstance(stmt, ast.ClassDef):
            body(stmt.body, stmt, "body", _Ctx(function=ctx.function))
            return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if ctx.function is None and any(isinstance(t, ast.Name) and t.id in LOGGERS
                                            for t in targets):
                return
            if ctx.function is not None and all(
                    isinstance(t, (ast.Attribute, ast.Subscript))
                    or (isinstance(t, ast.Tuple)
                        and all(isinstance(e, ast.Attribute) for e in t.elts))
                    for t in targets):
                drop(stmt, parent, name, i, ctx, "assignment")
            table = targets[0].id if isinstance(targets[0], ast.Name) else None
            if stmt.value is not None:
                if isinstance(stmt.value, ast.Dict) and table in KEYED_TABLES:
                    table_dict(stmt.value, table, ctx)
                else:
                    expr(stmt.value, stmt, "value", None, ctx)
            return
        if isinstance(stmt, ast.AugAssign):
            drop(stmt, parent, name, i, ctx, "update")
            expr(stmt.value, stmt, "value", None, ctx)
            return
        if isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Call) and ctx.function is not None:
                drop(stmt, parent, name, i, ctx, "call")
            expr(stmt.value, stmt, "value", None, ctx)
            return
        if isinstance(stmt, (ast.Continue, ast.Break)):
            drop(stmt, parent, name, i, ctx, type(stmt).__name__.lower())
            return
        if isinstance(stmt, ast.Raise):
            drop(stmt, parent, name, i, ctx, "raise")
            return
        if isinstance(stmt, ast.Return):
            if stmt.value is not None and not (isinstance(stmt.value, ast.Constant)
                                               and stmt.value.value is None):
                def apply(stmt=stmt):
                    stmt.value = ast.Constant(None)
                add(stmt, f"return None instead of {ast.unparse(stmt.value)[:60]}", ctx, apply)
                expr(stmt.value, stmt, "value", None, ctx)
            return
        if isinstance(stmt, (ast.If, ast.While)):
            condition(stmt, "test", ctx)
            body(stmt.body, stmt, "body", ctx)
            body(stmt.orelse, stmt, "orelse", ctx)
            return
        if isinstance(stmt, ast.For):
            expr(stmt.iter, stmt, "iter", None, ctx)
            body(stmt.body, stmt, "body", ctx)
            body(stmt.orelse, stmt, "orelse", ctx)
            return
        if isinstance(stmt, (ast.With, ast.Try)):
            if isinstance(stmt, ast.With):
                for item in stmt.items:
                    expr(item.context_expr, item, "context_expr", None, ctx)
                body(stmt.body, stmt, "body", ctx)
            else:
                body(stmt.body, stmt, "body", ctx)
                for handler in stmt.handlers:
                    body(handler.body, handler, "body", ctx)
                body(stmt.orelse, stmt, "orelse", ctx)
                body(stmt.finalbody, stmt, "finalbody", ctx)
            return
        # Anything else (pass, global, …): nothing to mutate.

    def table_dict(d: ast.Dict, table: str, ctx: _Ctx) -> None:
        for j, (key, value) in enumerate(zip(d.keys, d.values, strict=True)):
            endpoint = key.value if table == "POLICY" and isinstance(key, ast.Constant) else None
            expr(value, d, "values", j, _Ctx(function=ctx.function, endpoint=endpoint))

    def condition(node: ast.AST, name: str, ctx: _Ctx) -> None:
        test = getattr(node, name)
        simple_flip = (isinstance(test, ast.Compare) and len(test.ops) == 1
                       and isinstance(test.ops[0], FLIP_ONLY))
        if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)) and not simple_flip:
            def apply(node=node, test=test):
                setattr(node, name, ast.copy_location(ast.UnaryOp(ast.Not(), test), test))
            add(test, f"negate condition: {ast.unparse(test)[:70]}", ctx, apply)
        expr(test, node, name, None, ctx)

    def policy_rule(call: ast.Call, ctx: _Ctx) -> None:
        if call.args:
            def open_to_all(call=call):
                call.args = []
            add(call, f"rule {ctx.endpoint}: every role instead of "
                      f"{', '.join(ast.unparse(a) for a in call.args)}", ctx, open_to_all)
        for k, kw in enumerate(call.keywords):
            if kw.arg in ("scope", "ledger"):
                def without(call=call, k=k):
                    del call.keywords[k]
                add(call, f"rule {ctx.endpoint}: no {kw.arg} ({ast.unparse(kw.value)})", ctx,
                    without)

    def expr(node: ast.AST, parent: ast.AST, name: str, index: int | None, ctx: _Ctx) -> None:
        put = _setter(parent, name, index)
        if isinstance(node, ast.JoinedStr) or isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Call):
            called = _call_name(node)
            if ctx.endpoint is not None and called == "signed_in":
                policy_rule(node, ctx)
                return
            if ctx.endpoint is not None and called == "public":
                return
            quiet = ctx.quiet or called in QUIET_CALLS or called == "log"
            inner = _Ctx(ctx.function, ctx.defaults, ctx.endpoint, quiet)
            if called in ("where", "and_", "or_") and (called == "where" or len(node.args) > 1):
                for k, arg in enumerate(node.args):
                    def drop_arg(node=node, k=k):
                        del node.args[k]
                    add(arg, f"drop condition of {called}(): {ast.unparse(arg)[:60]}", ctx,
                        drop_arg)
            expr(node.func, node, "func", None, ctx)
            for k, arg in enumerate(node.args):
                expr(arg, node, "args", k, inner)
            for kw in node.keywords:
                expr(kw.value, kw, "value", None, inner)
            return
        if isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                for alt in CMP_ALTERNATIVES[type(op)]:
                    def flip(node=node, k=k, alt=alt):
                        node.ops[k] = alt()
                    add(node, f"{CMP_SYMBOLS[type(op)]} -> {CMP_SYMBOLS[alt]}: "
                              f"{ast.unparse(node)[:60]}", ctx, flip)
            expr(node.left, node, "left", None, ctx)
            for k, c in enumerate(node.comparators):
                expr(c, node, "comparators", k, ctx)
            return
        if isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            def swap(node=node, other=other):
                node.op = other()
            add(node, f"{'and -> or' if other is ast.Or else 'or -> and'}: "
                      f"{ast.unparse(node)[:60]}", ctx, swap)
            for k, v in enumerate(node.values):
                expr(v, node, "values", k, ctx)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add(node, f"drop not: {ast.unparse(node)[:60]}", ctx,
                lambda node=node, put=put: put(node.operand))
            expr(node.operand, node, "operand", None, ctx)
            return
        if isinstance(node, ast.IfExp):
            condition(node, "test", ctx)
            expr(node.body, node, "body", None, ctx)
            expr(node.orelse, node, "orelse", None, ctx)
            return
        if isinstance(node, ast.BinOp):
            alt = BINOP_ALTERNATIVES.get(type(node.op))
            if alt is not None:
                def binop(node=node, alt=alt):
                    node.op = alt()
                add(node, f"{type(node.op).__name__} -> {alt.__name__}: {ast.unparse(node)[:60]}",
                    ctx, binop)
            expr(node.left, node, "left", None, ctx)
            expr(node.right, node, "right", None, ctx)
            return
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for gen in node.generators:
                expr(gen.iter, gen, "iter", None, ctx)
                for k in range(len(gen.ifs)):
                    condition(_IfsProxy(gen, k), "test", ctx)
            for part in ("elt", "key", "value"):
                if hasattr(node, part):
                    expr(getattr(node, part), node, part, None, ctx)
            return
        if isinstance(node, ast.Constant):
            if ctx.quiet:
                return
            v = node.value
            if isinstance(v, bool):
                new, desc = (not v), f"{v} -> {not v}"
            elif isinstance(v, (int, float)):
                new, desc = v + 1, f"{v} -> {v + 1}"
            elif isinstance(v, str):
                new = v + "_mutant" if v else "mutant"
                desc = f"{v!r} -> {new!r}"
            else:
                return
            add(node, f"constant {desc}", ctx,
                lambda node=node, new=new, put=put: put(ast.copy_location(ast.Constant(new), node)))
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            for alt in NAME_SWAPS.get(node.id, []):
                add(node, f"name {node.id} -> {alt}", ctx,
                    lambda node=node, alt=alt, put=put: put(
                        ast.copy_location(ast.Name(alt, ast.Load()), node)))
            return
        if isinstance(node, ast.Attribute):
            alt = ATTR_SWAPS.get(node.attr)
            if alt is not None and isinstance(node.ctx, ast.Load):
                def attr(node=node, alt=alt):
                    node.attr = alt
                add(node, f"attribute .{node.attr} -> .{alt}", ctx, attr)
            expr(node.value, node, "value", None, ctx)
            return
        # Containers and the rest: their parts.
        for child_name, value in ast.iter_fields(node):
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        expr(item, node, child_name, k, ctx)
            elif isinstance(value, ast.expr):
                expr(value, node, child_name, None, ctx)

    body(tree.body, tree, "body", _Ctx())
    return found


class _IfsProxy:
    """`test` of one `if` of a comprehension, for condition()."""

    def __init__(self, gen: ast.comprehension, k: int):
        object.__setattr__(self, "_gen", gen)
        object.__setattr__(self, "_k", k)

    def __getattr__(self, name):
        return self._gen.ifs[self._k] if name == "test" else getattr(self._gen, name)

    def __setattr__(self, name, value):
        self._gen.ifs[self._k] = value


def mutants_of(path: str) -> list[Mutant]:
    source = (ROOT / path).read_text()
    short = path.removeprefix("webapp/")
    out = []
    for n, site in enumerate(sites(ast.parse(source)), 1):
        where = ("policy" if site.ctx.endpoint else
                 "function" if site.ctx.function and not site.ctx.defaults else "module")
        out.append(Mutant(id=f"{short}:{n}", file=path, line=site.line, desc=site.desc,
                          where=where, function=site.ctx.function, endpoint=site.ctx.endpoint))
    return out


def mutated_source(path: str, number: int) -> str:
    tree = ast.parse((ROOT / path).read_text())
    sites(tree)[number - 1].apply()
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def diff(path: str, number: int) -> str:
    original = ast.unparse(ast.parse((ROOT / path).read_text())).splitlines()
    mutated = mutated_source(path, number).splitlines()
    return "\n".join(difflib.unified_diff(original, mutated, path, f"{path} (mutant {number})",
                                          n=2, lineterm=""))


# --- Running -----------------------------------------------------------------------

def make_copy(workdir: Path, name: str) -> Path:
    dest = workdir / name
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in COPIED:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__",
                                                                           ".hypothesis"))
        elif src.exists():
            shutil.copy2(src, dest / item)
    return dest


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "not browser",
            "--ignore=tests/browser",
            "-W", "ignore::pytest.PytestAssertRewriteWarning", *args]


def env(**extra: str) -> dict[str, str]:
    return dict(os.environ, FOOTING_ENV="testing", **extra)


def record(workdir: Path) -> dict:
    """One traced run of the whole suite: lines and endpoints per test."""
    copy_dir = make_copy(workdir, "trace")
    out = workdir / "coverage.json"
    watched = os.pathsep.join(str(copy_dir / f) for f in TRACED)
    print("tracing the suite (once; about twice its usual time) ...", flush=True)
    started = time.monotonic()
    proc = subprocess.run(
        pytest_cmd("-q", "-p", "mutate_trace"), cwd=copy_dir,
        env=env(PYTHONPATH=str(ROOT / "scripts"), MUTATE_TRACE_FILES=watched,
                MUTATE_TRACE_OUT=str(out)), capture_output=True, text=True)
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    print(f"  {tail[0]} ({time.monotonic() - started:.0f} s)", flush=True)
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"the traced run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    raw = json.loads(out.read_text())
    prefix = str(copy_dir) + "/"
    tests = {}
    for nodeid, entry in raw.items():
        if not entry.get("passed") or "lines" not in entry:
            continue
        tests[nodeid] = {
            "duration": entry["duration"],
            "lines": {f.removeprefix(prefix): set(ls) for f, ls in entry["lines"].items()},
            "endpoints": set(entry["endpoints"]),
        }
    failed = [n for n, e in raw.items() if not e.get("passed")]
    if failed:
        print(f"  {len(failed)} tests did not pass unmutated and are left out: {failed[:5]}")
    return tests


def use_lines(path: str, line: int) -> dict[str, set[int]]:
    """For a module-level line: the lines inside functions (of this file and
    of its READERS) that use a name the statement at `line` defines."""
    tree = ast.parse((ROOT / path).read_text())
    names: set[str] = set()
    for stmt in tree.body:
        if stmt.lineno <= line <= stmt.end_lineno:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    uses: dict[str, set[int]] = {}
    for reader in [path, *READERS.get(path, [])]:
        for fn in ast.walk(ast.parse((ROOT / reader).read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    used = (node.id if isinstance(node, ast.Name) else
                            node.attr if isinstance(node, ast.Attribute) else None)
                    if used in names and hasattr(node, "lineno"):
                        uses.setdefault(reader, set()).add(node.lineno)
    return uses


def function_lines(path: str) -> dict[str, set[int]]:
    """Lines of each function of the file (qualified name), nested ones included."""
    tree = ast.parse((ROOT / path).read_text())
    out: dict[str, set[int]] = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = child.name if prefix is None else f"{prefix}.{child.name}"
                out[qual] = set(range(child.body[0].lineno, child.end_lineno + 1))
                visit(child, qual)
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix)
    visit(tree, None)
    return out


def select_tests(m: Mutant, tests: dict, fn_lines: dict[str, dict[str, set[int]]],
                 limit: int = MAX_TESTS) -> list[str]:
    if m.where == "policy":
        chosen = {n for n, t in tests.items()
                  if m.endpoint in t["endpoints"] or n.split("::")[0] in POLICY_TESTS}
    elif m.where == "function" and any(m.line in t["lines"].get(m.file, ())
                                       for t in tests.values()):
        chosen = {n for n, t in tests.items() if m.line in t["lines"].get(m.file, ())}
    elif m.where == "function" and m.file in MODULE_TESTS:  # runs only at import (signed_in)
        chosen = {n for n in tests if _module(n) in MODULE_TESTS[m.file]}
    elif m.where == "function":
        chosen = set()
    elif m.function is not None:  # a default argument: whoever runs the function
        lines = fn_lines[m.file].get(m.function, set())
        chosen = {n for n, t in tests.items() if lines & t["lines"].get(m.file, set())}
    else:  # module level: whoever runs a line using what the statement defines
        uses = use_lines(m.file, m.line)
        chosen = {n for n, t in tests.items()
                  if any(lines & t["lines"].get(f, set()) for f, lines in uses.items())}
        if m.file in MODULE_TESTS:  # names that feed the policy table, read by every request
            chosen |= {n for n in tests if _module(n) in MODULE_TESTS[m.file]}
    home = HOME.get(m.file, [])
    ranked = sorted(chosen, key=lambda n: (
        not _module(n).startswith("test_mutants"),
        home.index(_module(n)) if _module(n) in home else len(home), tests[n]["duration"], n))
    return ranked[:limit]


def _module(nodeid: str) -> str:
    return nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")


def run_mutant(m: Mutant, number: int, copy_dir: Path, nodeids: list[str], timeout: float,
               extra: list[str] | None = None) -> tuple[str, str | None, float]:
    target = copy_dir / m.file
    original = (ROOT / m.file).read_text()
    pyc = target.parent / "__pycache__"
    try:
        target.write_text(mutated_source(m.file, number))
        shutil.rmtree(pyc, ignore_errors=True)
        started = time.monotonic()
        try:
            proc = subprocess.run(pytest_cmd("-x", "-q", "--no-header", *(extra or []),
                                             *nodeids),
                                  cwd=copy_dir, env=env(), capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", None, time.monotonic() - started
        seconds = time.monotonic() - started
        if proc.returncode == 0:
            return "survived", None, seconds
        failed = next((line.split()[1] for line in proc.stdout.splitlines()
                       if line.startswith(("FAILED ", "ERROR "))), None)
        if failed is None:
            failed = next((line for line in proc.stdout.splitlines()[::-1]
                           if "::" in line or "error" in line.lower()), proc.stdout[-200:])
        return "killed", failed, seconds
    finally:
        target.write_text(original)
        shutil.rmtree(pyc, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="a target file (repeatable)")
    parser.add_argument("--ids", nargs="*", help="only these mutants (file:number)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--max-tests", type=int, default=None,
                        help="at most this many tests per mutant")
    parser.add_argument("--workdir", default="/tmp/footing-mutate")
    parser.add_argument("--exclude", metavar="TEXT",
                        help="leave out the tests whose id contains TEXT (e.g. test_mutants_, "
                             "for the score before the tests written against survivors)")
    parser.add_argument("--tests", nargs="+", metavar="PATH",
                        help="run these tests (files or ids) for every mutant instead of "
                             "the traced ones: a re-run of survivors against new tests")
    parser.add_argument("--from", dest="from_", nargs="+", metavar="WORKDIR",
                        help="print the merged score of these passes (a mutant killed in any "
                             "of them is killed) and run nothing")
    parser.add_argument("--survivors", nargs="+", metavar="WORKDIR",
                        help="only the mutants that survived these passes (later ones win)")
    parser.add_argument("--reuse-trace", action="store_true",
                        help="use the last trace instead of tracing the suite again")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--show", metavar="ID", help="print one mutant as a diff")
    parser.add_argument("--check", metavar="ID[,ID…]",
                        help="run the tests given after -- against these mutants (in one "
                             "process, in memory); exit 0 when every one is killed")
    parser.add_argument("--check-slow", metavar="ID",
                        help="the same for one mutant written into a copy of the work tree")
    args, rest = parser.parse_known_args(argv)
    rest = [a for a in rest if a != "--"]

    files = args.only or TARGETS
    files = [f if f.startswith("webapp/") else f"webapp/{f}" for f in files]
    mutants = [m for f in files for m in mutants_of(f)]
    by_id = {m.id: m for m in mutants}
    if args.ids:
        mutants = [by_id[i] for i in args.ids]
    if args.survivors:
        last: dict[str, dict] = {}
        for d in args.survivors:
            last.update(json.loads((Path(d) / "results.json").read_text()))
        mutants = [m for m in mutants if last.get(m.id, {}).get("status") in
                   ("survived", "uncovered", "error", None)]

    if args.from_:
        # Passes with different tests: a mutant any of them killed is killed.
        rank = {"killed": 0, "timeout": 0, "survived": 1, "error": 2, "uncovered": 3}
        merged: dict[str, dict] = {}
        for d in args.from_:
            for ident, r in json.loads((Path(d) / "results.json").read_text()).items():
                if ident not in merged or rank.get(r["status"], 4) < rank.get(
                        merged[ident]["status"], 4):
                    merged[ident] = r
        wanted = {m.id for m in mutants}
        report([Mutant(**r) for i, r in merged.items() if i in wanted], 0)
        return 0
    if args.list:
        for m in mutants:
            print(f"{m.id:28} line {m.line:4} {m.where:8} {m.desc}")
        counts = {f: sum(1 for m in mutants if m.file == f) for f in files}
        print(json.dumps(counts, indent=1))
        return 0
    if args.show:
        m = _find(args.show)
        print(f"{m.id}: {m.desc}")
        print(diff(m.file, int(m.id.rsplit(':', 1)[1])))
        return 0
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.check_slow:
        m = _find(args.check_slow)
        copy_dir = make_copy(workdir, "check")
        status, failed, seconds = run_mutant(m, int(m.id.rsplit(":", 1)[1]), copy_dir, rest,
                                             timeout=600, extra=[])
        print(f"{m.id} ({m.desc}): {status}{' by ' + failed if failed else ''} in {seconds:.0f} s")
        return 0 if status in ("killed", "timeout") else 1
    if args.check:
        checked = [_find(i) for i in args.check.split(",")]
        plan = [{"id": m.id, "file": m.file, "number": int(m.id.rsplit(":", 1)[1]),
                 "tests": rest, "timeout": 600} for m in checked]
        plan_file, out_file = workdir / "check-plan.json", workdir / "check-out.json"
        plan_file.write_text(json.dumps(plan))
        Path(f"{out_file}.log").unlink(missing_ok=True)
        subprocess.run(pytest_cmd("-q", "-p", "mutate_runner", *rest), cwd=ROOT,
                       env=env(PYTHONPATH=str(ROOT / "scripts"), MUTATE_PLAN=str(plan_file),
                               MUTATE_OUT=str(out_file)), capture_output=True)
        out = json.loads(out_file.read_text()) if out_file.exists() else {}
        for m in checked:
            r = out.get(m.id, {"status": "not run", "killed_by": None})
            print(f"{m.id:28} {r['status']:9} {m.desc[:70]}"
                  + (f"\n{'':28} by {r['killed_by']}" if r["killed_by"] else ""))
        return 0 if all(out.get(m.id, {}).get("status") in ("killed", "timeout")
                        for m in checked) else 1

    trace_file = workdir / "trace.json"
    if args.tests:
        tests = {}
    elif args.reuse_trace and trace_file.exists():
        tests = {n: {"duration": t["duration"], "endpoints": set(t["endpoints"]),
                     "lines": {f: set(ls) for f, ls in t["lines"].items()}}
                 for n, t in json.loads(trace_file.read_text()).items()}
    else:
        tests = record(workdir)
        trace_file.write_text(json.dumps(
            {n: {"duration": t["duration"], "endpoints": sorted(t["endpoints"]),
                 "lines": {f: sorted(ls) for f, ls in t["lines"].items()}}
             for n, t in tests.items()}))
    if args.exclude:
        tests = {n: t for n, t in tests.items() if args.exclude not in n}
    fn_lines = {f: function_lines(f) for f in files}

    limit = args.max_tests or MAX_TESTS
    plans: list[list[dict]] = [[] for _ in range(args.jobs)]
    load = [0.0] * args.jobs
    for m in mutants:
        nodeids = args.tests or select_tests(m, tests, fn_lines, limit)
        if not nodeids:
            m.status = "uncovered"
            continue
        budget = sum(tests[n]["duration"] for n in nodeids) if not args.tests else 60
        k = load.index(min(load))
        load[k] += budget
        plans[k].append({"id": m.id, "file": m.file, "number": int(m.id.rsplit(":", 1)[1]),
                         "tests": nodeids, "timeout": round(30 + 5 * budget, 1)})
    started = time.monotonic()
    procs = []
    for k, plan in enumerate(plans):
        if not plan:
            continue
        plan_file, out_file = workdir / f"plan{k}.json", workdir / f"out{k}.json"
        plan_file.write_text(json.dumps(plan))
        for stale in (out_file, Path(f"{out_file}.log")):
            stale.unlink(missing_ok=True)
        procs.append((subprocess.Popen(
            pytest_cmd("-q", "-p", "mutate_runner"), cwd=ROOT,
            env=env(PYTHONPATH=str(ROOT / "scripts"), MUTATE_PLAN=str(plan_file),
                    MUTATE_OUT=str(out_file)),
            stdout=open(workdir / f"worker{k}.txt", "w"), stderr=subprocess.STDOUT), out_file))
    total = sum(len(p) for p in plans)
    seen = [0] * len(procs)
    shown = 0
    while True:
        alive = any(proc.poll() is None for proc, _ in procs)
        for k, (_proc, out_file) in enumerate(procs):
            log = Path(f"{out_file}.log")
            lines = log.read_text().splitlines() if log.exists() else []
            for line in lines[seen[k]:]:
                shown += 1
                print(f"[{shown}/{total}] {line}", flush=True)
            seen[k] = len(lines)
        if not alive:
            break
        time.sleep(5)
    by_id = {m.id: m for m in mutants}
    for proc, out_file in procs:
        if proc.returncode not in (0, 5) or not out_file.exists():
            print(f"a worker stopped with {proc.returncode}: see {workdir}/worker*.txt")
        if out_file.exists():
            for ident, r in json.loads(out_file.read_text()).items():
                m = by_id[ident]
                m.status, m.killed_by, m.tests_run, m.seconds = (
                    r["status"], r["killed_by"], r["tests_run"], r["seconds"])
    results = mutants
    results_file = workdir / "results.json"
    previous = json.loads(results_file.read_text()) if results_file.exists() else {}
    previous.update({m.id: asdict(m) for m in results})
    results_file.write_text(json.dumps(previous, indent=1))
    report(results, time.monotonic() - started)
    return 0


def _find(ident: str) -> Mutant:
    short, _n = ident.rsplit(":", 1)
    path = f"webapp/{short}" if not short.startswith("webapp/") else short
    for m in mutants_of(path):
        if m.id == ident.removeprefix("webapp/"):
            return m
    raise SystemExit(f"no mutant {ident}")


def report(results: list[Mutant], seconds: float) -> None:
    print(f"\nmutation score ({seconds / 60:.0f} min):")
    for f in dict.fromkeys(m.file for m in results):
        mine = [m for m in results if m.file == f]
        killed = sum(m.status in ("killed", "timeout") for m in mine)
        print(f"  {f:32} {killed:4}/{len(mine):<4} killed")
    survivors = [m for m in results if m.status in ("survived", "uncovered", "error", "pending")]
    if survivors:
        print("\nsurvivors:")
        for m in survivors:
            print(f"  {m.id:28} line {m.line:4} {m.status:9} {m.desc}")


if __name__ == "__main__":
    sys.exit(main())
