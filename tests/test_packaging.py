"""Packaging: the lock files hold what pyproject.toml asks for."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RELOCK = "run scripts/lock.sh (README, 'Production')"


def _locked(name: str) -> dict[str, set[str]]:
    """Package → the versions a lock file pins for this interpreter and platform."""
    pins: dict[str, set[str]] = {}
    for line in (ROOT / name).read_text().splitlines():
        if not line or line[0] in " #-":  # hashes, comments, options
            continue
        req = Requirement(line.rstrip(" \\"))
        (pin,) = req.specifier
        assert pin.operator == "==", line
        if req.marker is None or Marker(str(req.marker)).evaluate():
            pins.setdefault(canonicalize_name(req.name), set()).add(pin.version)
    return pins


@pytest.mark.parametrize("lock, wanted", [
    ("requirements.txt", PYPROJECT["dependencies"]),
    ("requirements-test.txt",
     PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["test"]),
])
def test_the_lock_files_pin_what_pyproject_asks_for(lock, wanted):
    pins = _locked(lock)
    wrong = []
    for text in wanted:
        req = Requirement(text)
        versions = pins.get(canonicalize_name(req.name), set())
        if len(versions) != 1 or not req.specifier.contains(next(iter(versions)),
                                                             prereleases=True):
            wrong.append(f"{text}: {lock} has {sorted(versions) or 'nothing'}")
    assert not wrong, f"{lock} is stale, {RELOCK}: " + "; ".join(wrong)


def test_a_deployment_gets_the_versions_the_tests_ran_on():
    runtime, tested = _locked("requirements.txt"), _locked("requirements-test.txt")
    differ = {name: (v, tested.get(name)) for name, v in runtime.items() if tested.get(name) != v}
    assert not differ, f"requirements.txt differs from requirements-test.txt, {RELOCK}: {differ}"
