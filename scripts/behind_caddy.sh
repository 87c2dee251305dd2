#!/usr/bin/env bash
# The app as deploy/ ships it, checked end to end: gunicorn (2 workers) and
# the worker behind Debian's Caddy over HTTPS (`tls internal`, loopback only),
# driven by headless Chromium and two HTTP clients (tests/deploy/).
# Installs caddy when missing (apt-get), needs Redis on 127.0.0.1:6379 (its
# database 9 is emptied: DEPLOY_REDIS_URL to choose another) and Chromium.
# Everything it starts is stopped when it ends, even when pytest dies.
#
#   scripts/behind_caddy.sh [pytest args]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=.venv/bin/python

if ! command -v caddy >/dev/null 2>&1; then
    echo "installing caddy"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends caddy
fi
caddy version

if ! out=$(make --no-print-directory catalogs 2>&1); then
    echo "$out" >&2
    exit 1
fi

work=$(mktemp -d -t footing-behind-caddy.XXXXXX)
export DEPLOY_PIDFILE="$work/pids"
: >"$DEPLOY_PIDFILE"
finish() {
    local status=$?
    # The test stops its processes itself; these are what a killed pytest left.
    while read -r pid; do
        if kill -0 "$pid" 2>/dev/null; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
    done <"$DEPLOY_PIDFILE"
    sleep 1
    while read -r pid; do
        if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    done <"$DEPLOY_PIDFILE"
    if [ "$status" != 0 ]; then
        for log in "$work"/basetemp/stack[0-9]*/*.log; do
            [ -f "$log" ] || continue
            printf '\n--- %s (last 40 lines) ---\n' "$log"
            tail -n 40 "$log"
        done
        echo "behind_caddy: failed; logs kept in $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

timeout --signal=TERM --kill-after=20 "${DEPLOY_TIMEOUT:-480}" \
    env FOOTING_ENV=testing "$PYTHON" -m pytest -m deploy tests/deploy -p no:cacheprovider \
    --basetemp "$work/basetemp" -q "$@"
