"""Lighthouse mobile scores (issue #24: performance ≥ 0.95, with its
benchmarkIndex beside every score).

    make bench-lighthouse      # or: python bench/lighthouse.py [--runs 3]

Starts the app (bench/live.py: fresh SQLite database, demo data, a returnee
and their caseworker signed in), then runs Lighthouse (npm `lighthouse`,
installed into bench/.node on first use) `--runs` times on /signin, /home,
/checkin/, /plan/ and the returnee's case page (/people/<id>, as the
caseworker), pages interleaved, with its default mobile profile (simulated
slow 4G, 4x CPU slowdown). Every figure is min / median / max of the runs,
beside Lighthouse's benchmarkIndex of those runs (how fast this machine was
when it ran: a shared machine scores lower) and the load average.
Writes bench/results/lighthouse.md. bench/budgets.py (`make bench`) calls
`run_pages` for the pages a returnee sees.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "lighthouse.md"
NODE = ROOT / "bench" / ".node"
LIGHTHOUSE_VERSION = "12"
RUNS = 3
GOAL = 0.95
sys.path.insert(0, str(ROOT))

from bench.stats import machine_load, percentile, spread  # noqa: E402

AUDITS = {"first-contentful-paint": "FCP s", "largest-contentful-paint": "LCP s",
          "total-blocking-time": "TBT ms", "cumulative-layout-shift": "CLS"}


def install() -> Path | str:
    """The lighthouse binary, or why there is none."""
    binary = NODE / "node_modules" / ".bin" / "lighthouse"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed"
    result = subprocess.run([npm, "install", "--prefix", str(NODE), "--no-audit", "--no-fund",
                             f"lighthouse@{LIGHTHOUSE_VERSION}"],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not binary.exists():
        return (f"`npm install lighthouse@{LIGHTHOUSE_VERSION}` failed: "
                f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return binary


def one_run(binary: Path, url: str, cookie: str | None, chromium: str) -> dict | str:
    """One Lighthouse run: the scores and metrics, or why it did not run."""
    out = Path(tempfile.mkdtemp()) / "lh.json"
    args = [str(binary), url, "--output=json", f"--output-path={out}", "--quiet",
            "--only-categories=performance,accessibility,best-practices",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"]
    if cookie:
        args.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    load = os.getloadavg()[0]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "CHROME_PATH": chromium})
    if result.returncode != 0 or not out.exists():
        return ((result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"])[0]
    report = json.loads(out.read_text())
    shutil.rmtree(out.parent, ignore_errors=True)
    scores = {k: report["categories"][k]["score"]
              for k in ("performance", "accessibility", "best-practices")}
    metrics = {k: report["audits"][k].get("numericValue") for k in AUDITS}
    return {**scores, **metrics, "benchmarkIndex": report["environment"].get("benchmarkIndex"),
            "load": max(load, os.getloadavg()[0]), "final_url": report.get("finalDisplayedUrl")}


def run_pages(base_url: str, pages: list[tuple[str, str, str | None]], chromium: str,
              runs: int = RUNS) -> list[str]:
    """Markdown lines: each (label, path, cookie header or None) `runs` times,
    the pages interleaved."""
    binary = install()
    if not isinstance(binary, Path):
        return [f"Lighthouse did not run: {binary}."]
    found: dict[str, list[dict]] = {}
    failed: dict[str, list[str]] = {}
    for _round in range(runs):
        for label, path, cookie in pages:
            result = one_run(binary, base_url + path, cookie, chromium)
            if isinstance(result, str):
                failed.setdefault(label, []).append(result[:120])
            elif not str(result["final_url"]).endswith(path):  # signed out: another page
                failed.setdefault(label, []).append(f"ended at {result['final_url']}")
            else:
                found.setdefault(label, []).append(result)
    lines = [f"Lighthouse {LIGHTHOUSE_VERSION}, mobile (default: simulated slow 4G, 4x CPU), "
             f"{runs} runs per page, pages interleaved; each cell is min / median / max. "
             f"Goal: performance ≥ {GOAL} (the median).", "",
             "| page | performance | benchmarkIndex | accessibility | best practices | "
             + " | ".join(AUDITS.values()) + " | load average | |",
             "|---|---|---|---|---|" + "---|" * len(AUDITS) + "---|---|"]
    for label, _path, _cookie in pages:
        rows = found.get(label, [])
        if not rows:
            lines.append(f"| {label} | did not run: {'; '.join(failed.get(label, ['?']))} |"
                         + " |" * (6 + len(AUDITS)))
            continue
        perf = [r["performance"] for r in rows]
        cells = [spread(perf, "{:.2f}"), spread([r["benchmarkIndex"] for r in rows], "{:.0f}"),
                 spread([r["accessibility"] for r in rows], "{:.2f}"),
                 spread([r["best-practices"] for r in rows], "{:.2f}")]
        for key in AUDITS:
            scale, fmt = (1, "{:.0f}") if key == "total-blocking-time" else \
                ((1, "{:.3f}") if key == "cumulative-layout-shift" else (1000, "{:.2f}"))
            cells.append(spread([None if r[key] is None else r[key] / scale for r in rows], fmt))
        cells.append(spread([r["load"] for r in rows], "{:.1f}"))
        verdict = "met" if percentile([p for p in perf if p is not None], .5) >= GOAL \
            else "NOT met"
        note = f"{verdict}" + (f"; {len(failed[label])} runs failed" if label in failed else "")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {note} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--only", default="", help="only the pages whose label has this; "
                        "printed, not written")
    args = parser.parse_args()

    from bench.live import running_app
    from tests.browser.conftest import CHROMIUM

    with running_app("Lighthouse Reader") as app:
        returnee, staff = app.cookie_header("returnee"), app.cookie_header("caseworker")
        pages = [("/signin (signed out)", "/signin", None),
                 ("/home (returnee)", "/home", returnee),
                 ("/checkin/ (returnee)", "/checkin/", returnee),
                 ("/plan/ (returnee)", "/plan/", returnee),
                 ("case page /people/<id> (caseworker)", f"/people/{app.returnee_id}", staff)]
        pages = [p for p in pages if args.only in p[0]]
        before = machine_load()
        lines = run_pages(app.url, pages, CHROMIUM, args.runs)
    report = (f"# Lighthouse\n\nMade by `make bench-lighthouse` (bench/lighthouse.py --runs "
              f"{args.runs}) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
              f"Chromium at {CHROMIUM}. Machine: {before} before the runs, {machine_load()} "
              "after. benchmarkIndex is Lighthouse's own measure of how fast the machine ran "
              "during the run (higher is faster); on a busy machine the scores come out "
              "lower.\n\n"
              + "\n".join(lines) + "\n")
    if not args.only:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
