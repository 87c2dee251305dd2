"""What the phone's vault (static/js/vault.js, issue #19) costs: one PIN
check (HMAC with the device key, PBKDF2-SHA256 at FootingVault.ITERATIONS,
unwrap) in headless Chromium's WebCrypto, on this machine and with the CPU
slowed down 6x through the DevTools protocol (Lighthouse's low-end phone
profile), and the sealing of one page copy.

    .venv/bin/python -m bench.vault [--runs 5]

A headless page on a static copy of vault.js (no server, no database): the
numbers are the browser's own. Writes bench/results/vault.md.
"""
from __future__ import annotations

import argparse
import http.server
import platform
import statistics
import threading
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "webapp" / "static"
RESULTS = ROOT / "bench" / "results" / "vault.md"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

PAGE = b"""<!doctype html><title>bench</title><script src="/js/vault.js"></script>"""

MEASURE = """async (runs) => {
    const V = FootingVault, out = {unlock: [], prepare: [], seal: []};
    for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await V.prepare("246810", true);
        out.prepare.push(performance.now() - t);
        await V.confirm(60);
        await V.lock();
        t = performance.now();
        const r = await V.unlock("246810", 60);
        out.unlock.push(performance.now() - t);
        if (r.outcome !== "open") throw new Error("did not open: " + r.outcome);
        const key = await V.key(), page = new Uint8Array(12000);
        t = performance.now();
        await V.decrypt(key, await V.encrypt(key, page));
        out.seal.push(performance.now() - t);
    }
    return {iterations: V.ITERATIONS, ...out};
}"""


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.path == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(PAGE)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def measure(runs: int) -> list[tuple[str, dict]]:
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(Handler, directory=str(STATIC)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=CHROMIUM_ARGS)
            for label, rate in (("this machine", 1), ("CPU 6x slower", 6)):
                page = browser.new_page()
                cdp = page.context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
                page.goto(url)
                rows.append((label, page.evaluate(MEASURE, runs)))
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return rows


def report(rows: list[tuple[str, dict]], runs: int) -> str:
    lines = [
        "# Vault cost (bench/vault.py)", "",
        f"Headless Chromium on {platform.machine()}, {runs} runs each; median (max) ms.",
        f"PBKDF2-SHA256 iterations: {rows[0][1]['iterations']:,}.", "",
        "| CPU | PIN check offline (unlock) | key prepared at sign-in | seal + open a 12 KB page |",
        "|---|---|---|---|",
    ]
    for label, r in rows:
        cells = [f"{statistics.median(r[k]):.0f} ({max(r[k]):.0f})"
                 for k in ("unlock", "prepare", "seal")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    text = report(measure(args.runs), args.runs)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
