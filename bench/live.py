"""The app running for a browser bench: a fresh SQLite database with the demo
data, a returnee of its own assigned to a demo caseworker, and the cookies of
both signed in (bench/cls.py, bench/lighthouse.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class App:
    url: str
    returnee_id: int
    cookies: dict[str, list[dict]]  # "returnee" / "caseworker" -> Playwright cookies

    def cookie_header(self, who: str) -> str:
        return "; ".join(f"{c['name']}={c['value']}" for c in self.cookies[who])


def _flask(env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out[out.index("{"):])


@contextmanager
def running_app(returnee_name: str = "Bench Reader") -> Iterator[App]:
    from playwright.sync_api import sync_playwright

    from bench.throughput import demo_env, free_port, wait_healthy
    from tests.browser.conftest import (
        CHROMIUM,
        CHROMIUM_ARGS,
        PHONE,
        Account,
        LiveServer,
        activate_returnee,
        sign_in_staff,
        stop_process,
    )

    tmp = Path(tempfile.mkdtemp(prefix="footing-browser-bench-"))
    env = demo_env(str(tmp), RATELIMIT_SIGNIN="600 per minute")
    seeded = _flask(env, "seed-demo", "--json")
    accounts = [Account(**{k: a.get(k) for k in Account.__dataclass_fields__})
                for a in seeded["accounts"]]
    caseworker = next(a for a in accounts if a.role == "caseworker")
    person = _flask(env, "demo-returnee", returnee_name, "--caseworker", caseworker.email)
    returnee = Account(**{k: person.get(k) for k in Account.__dataclass_fields__})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "server.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run",
                                   "--host", "127.0.0.1", "--port", str(port), "--no-reload"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, server, seconds=120)
        live = LiveServer(url=url, log=log_path, env=env, organisation=seeded["organisation"],
                          accounts=accounts)
        cookies = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=CHROMIUM_ARGS)
            for who in ("returnee", "caseworker"):
                context = browser.new_context(**PHONE, base_url=url, service_workers="block")
                context.set_default_timeout(60_000)
                page = context.new_page()
                if who == "returnee":
                    activate_returnee(page, returnee)
                else:
                    sign_in_staff(page, live, caseworker)
                cookies[who] = context.cookies()
                context.close()
            browser.close()
        yield App(url=url, returnee_id=returnee.user_id, cookies=cookies)
    finally:
        stop_process(server, 30)
