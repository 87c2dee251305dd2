"""Packaging: the lock files hold what pyproject.toml asks for, and the wheel
deploys.

The wheel's test builds it from a copy of the working tree, installs it into a
new virtual environment outside the checkout and, from another folder, runs
what README's "Production" tells an operator to run. Its build takes setuptools
from the package registry (pip's build isolation) and it takes some 20 seconds
of CPU (a minute and a half on a busy machine), so it runs in a step of its own
in .ci/run (FOOTING_TEST_WHEEL=1) and is skipped elsewhere.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
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


# --- The wheel ---------------------------------------------------------------------

# Not copied for the build: caches, environments, local state, and the compiled
# catalogs (the installed package must compile its own).
NOT_SOURCE = (".git", ".venv", "instance", "build", "dist", "*.egg-info", "__pycache__",
              "*.py[cod]", "*.mo", "node_modules", ".node", ".*_cache", ".hypothesis",
              "test-artifacts")


def _ok(cmd: list[str], **kwargs) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.skipif(not os.environ.get("FOOTING_TEST_WHEEL"),
                    reason="builds and installs the wheel: FOOTING_TEST_WHEEL=1 (.ci/run)")
def test_the_wheel_migrates_and_starts_an_organisation_outside_the_checkout(tmp_path):
    source, dist, venv, ops = (tmp_path / name for name in ("source", "dist", "venv", "ops"))
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    _ok([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist),
         str(source)])
    (wheel,) = dist.glob("footing-*.whl")
    files = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py"))
    assert {"webapp/migrations/env.py", "webapp/migrations/script.py.mako"} <= files
    assert {f"webapp/migrations/versions/{name}" for name in migrations} <= files
    assert not any(name.startswith(("migrations/", "tests/")) for name in files)

    # A new environment with the wheel alone in it; its dependencies are this
    # environment's, seen through a .pth file (offline and quick). That file
    # leaves out this environment's own .pth files, so the checkout's editable
    # install stays out of sight: every `webapp` below is the wheel's.
    _ok([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _ok([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)])
    site = Path(_ok([str(python), "-c",
                     "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_footing_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")

    ops.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FOOTING_", "FLASK_", "PYTHON", "DATABASE_URL", "REDIS_URL",
                                "TEST_", "BROWSER_"))}
    env.update(FOOTING_ENV="production", SECRET_KEY=secrets.token_hex(32),
               DATABASE_URL=f"sqlite:///{ops / 'footing.db'}", FOOTING_INSTANCE=str(ops),
               DATA_KEY=Fernet.generate_key().decode(),
               VAPID_SUBJECT="mailto:ops@partner.example.org", EMERGENCY_PHONE="+232 99 000 111")

    def footing(*args: str) -> str:
        return _ok([str(venv / "bin" / "footing"), *args], cwd=ops, env=env)

    assert Path(_ok([str(python), "-c", "import webapp; print(webapp.__file__)"],
                    cwd=ops, env=env).strip()).is_relative_to(site)
    assert footing("db", "current").strip() == ""  # a new database: no revision yet
    footing("db", "upgrade")
    current = footing("db", "current").split()
    assert current[1:] == ["(head)"], current
    history = footing("db", "history")
    assert set(re.findall(r"-> (\w+)", history)) == {name.split("_")[1] for name in migrations}
    assert f"-> {current[0]} (head) (current)," in history.splitlines()[0]

    footing("translate", "compile")
    assert (site / "webapp" / "i18n" / "fr" / "LC_MESSAGES" / "messages.mo").is_file()

    made = footing("create-organisation", "--name", "Partner, Freetown", "--country", "SL",
                   "--timezone", "Africa/Freetown", "--currency", "SLE",
                   "--coordinator-name", "Aminata", "--coordinator-email",
                   "aminata@partner.example.org")
    assert "Organisation 'Partner, Freetown' made" in made and "Activation code" in made

    # README's web server line loads the app from the installed package, and
    # refuses to serve before the VAPID key is made.
    check = [str(python), "-m", "gunicorn", "--check-config", "webapp:create_app()"]
    refused = subprocess.run(check, cwd=ops, env=env, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode != 0 and "No VAPID key for web push" in refused.stderr, refused
    assert "VAPID_PUBLIC_KEY=" in footing("push", "generate-vapid")
    assert (ops / "vapid_private.pem").is_file()
    _ok(check, cwd=ops, env=env)
