"""Layout shift as a phone on 2G sees it (issue #24: CLS ≤ 0.01).

    python bench/cls.py [--runs 5]      # writes bench/results/cls.md

Starts the app like bench/budgets.py (a fresh SQLite database with the demo
data), then loads /signin, /home, /checkin/, /plan/ (a returnee) and a case
page (/people/<id>, the returnee's caseworker) in Chromium with emulated 2G
(800 ms round trip, 50 kbit/s) and a 6x slower CPU, each `--runs` times in a
fresh browser context, and reads the layout shifts from a PerformanceObserver
('layout-shift', buffered) until a few seconds after the load event.

The phone is given what makes the page show its JavaScript-made controls:
a voice of its own for the page's language (so "Read aloud" appears), and the
browser's install offer (`beforeinstallprompt`) a moment after the load. CLS
is the largest session window (shifts less than 1 s apart, at most 5 s), as
Lighthouse and Chrome count it; the elements that moved are listed.

`measure(page, path)` is also what tests/browser/test_layout_shift.py uses.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "cls.md"
sys.path.insert(0, str(ROOT))

from bench.stats import machine_load, percentile  # noqa: E402

GOAL = 0.01
RUNS = 5
NETWORK = (800, 50)  # 2G as bench/budgets.py emulates it: round trip ms, kbit/s
CPU_SLOWDOWN = 6
SETTLE_MS = 3000  # after the load event: late voices, the install offer

# Before any of the page's scripts: the observer (buffered: shifts before it
# are kept too), a voice on the phone for whatever language the page has,
# and the install offer a moment after the load.
PHONE_SCRIPT = """
(() => {
  window.__shifts = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__shifts.push({value: e.value, time: e.startTime, input: e.hadRecentInput,
          sources: (e.sources || []).map((s) => {
            const n = s.node;
            if (!n || !n.nodeName) return "?";
            return n.nodeName.toLowerCase() + (n.id ? "#" + n.id : "") +
              (typeof n.className === "string" && n.className.trim()
                ? "." + n.className.trim().split(/\\s+/).join(".") : "");
          })});
      }
    }).observe({type: "layout-shift", buffered: true});
  } catch (e) {}
  const voice = () => [{name: "Phone voice", lang: document.documentElement.lang || "en",
                        localService: true}];
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
  Object.defineProperty(window, "speechSynthesis", {configurable: true, value: {
    speaking: false, pending: false, getVoices: voice, speak() {}, cancel() {},
    addEventListener() {}}});
  window.addEventListener("load", () => setTimeout(() => {
    const offer = new Event("beforeinstallprompt", {cancelable: true});
    offer.prompt = () => {};
    window.dispatchEvent(offer);
  }, 500));
})();
"""

READ_SHIFTS = """() => {
  const shifts = window.__shifts.filter((s) => !s.input);
  let best = 0, current = 0, start = -1, last = -1;
  for (const s of shifts) {
    if (start < 0 || s.time - last > 1000 || s.time - start > 5000) { current = 0; start = s.time; }
    current += s.value; last = s.time;
    best = Math.max(best, current);
  }
  return {cls: best, shifts: shifts};
}"""


def emulate_2g(context, page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    rtt, kbit = NETWORK
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": rtt,
        "downloadThroughput": kbit * 1000 / 8, "uploadThroughput": kbit * 1000 / 8})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})


def measure(page, path: str, settle_ms: int = SETTLE_MS) -> dict:
    """Load `path` in `page` (whose context has PHONE_SCRIPT) and return
    {"cls": largest session window, "shifts": [...]} once it has settled."""
    page.goto(path, wait_until="load", timeout=180_000)
    page.wait_for_timeout(settle_ms)
    return page.evaluate(READ_SHIFTS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from bench.live import running_app
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE

    results: dict[str, list[dict]] = {}
    loads: dict[str, list[float]] = {}
    with running_app("Shift Reader") as app, sync_playwright() as p:
        pages = [("/signin", None), ("/home", "returnee"), ("/checkin/", "returnee"),
                 ("/plan/", "returnee"), (f"/people/{app.returnee_id}", "caseworker")]
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for _round in range(args.runs):
            for path, who in pages:
                context = browser.new_context(**PHONE, base_url=app.url, service_workers="block")
                if who:
                    context.add_cookies(app.cookies[who])
                context.add_init_script(PHONE_SCRIPT)
                page = context.new_page()
                emulate_2g(context, page)
                loads.setdefault(path, []).append(os.getloadavg()[0])
                results.setdefault(path, []).append(measure(page, path))
                context.close()
        browser.close()

    lines = [f"# Layout shift (CLS) on 2G\n\nMade by `make bench-cls` (bench/cls.py --runs "
             f"{args.runs}) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
             f"Chromium {CHROMIUM}. 2G: {NETWORK[0]} ms round trip, {NETWORK[1]} kbit/s, CPU "
             f"{CPU_SLOWDOWN}x slower; the phone has a voice for the page's language and is "
             f"offered the install {500} ms after the load; read {SETTLE_MS} ms after the "
             f"load. Goal CLS ≤ {GOAL} on every page (largest session window).\n",
             "| page | CLS min / median / max | goal | load average (1 min) min / median / max "
             "| what moved |", "|---|---|---|---|---|"]
    worst = 0.0
    for path, _who in pages:
        values = [r["cls"] for r in results[path]]
        moved = sorted({s for r in results[path] for e in r["shifts"] for s in e["sources"]})
        worst = max(worst, max(values))
        label = "case page /people/<id> (caseworker)" if path.startswith("/people/") else path
        lines.append(f"| {label} | {min(values):.4f} / {percentile(values, .5):.4f} / "
                     f"{max(values):.4f} | {'met' if max(values) <= GOAL else 'NOT met'} | "
                     f"{min(loads[path]):.1f} / {percentile(loads[path], .5):.1f} / "
                     f"{max(loads[path]):.1f} | {', '.join(moved) or 'nothing'} |")
    lines += ["", f"Machine: {machine_load()} at the end."]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
