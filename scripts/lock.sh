#!/usr/bin/env bash
# Writes the lock files from pyproject.toml, with every file's hash:
#   requirements-test.txt  the dependencies and the test extras: `make install`, CI
#   requirements.txt       the dependencies alone, at the same versions: deployments
# Run it after changing the dependencies in pyproject.toml; it keeps the locked
# versions that still fit, `scripts/lock.sh --upgrade` takes the newest allowed
# (`--upgrade-package NAME` one package). Needs uv (`pip install uv`, or UV=path).
# Universal: one lock for every platform and Python the project supports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
compile() {
    "$UV" pip compile --quiet --universal --generate-hashes \
        --custom-compile-command "scripts/lock.sh" pyproject.toml "$@"
}
compile --extra test -o requirements-test.txt "$@"
compile -c requirements-test.txt -o requirements.txt
