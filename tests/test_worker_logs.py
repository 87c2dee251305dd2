"""The worker's log: JSON lines, each once (no second, plain-text copy from huey_consumer)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_worker_writes_each_line_once_and_as_json(tmp_path):
    env = {**os.environ, "FOOTING_ENV": "development", "FOOTING_INSTANCE": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path}/worker.db"}
    env.pop("REDIS_URL", None)
    consumer = subprocess.Popen(
        [sys.executable, "-c", "from huey.bin.huey_consumer import consumer_main; consumer_main()",
         "webapp.worker.huey", "--workers", "1", "--worker-type", "thread"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 60
    while not any("commands are available" in line for line in lines):  # started
        assert time.monotonic() < deadline and consumer.poll() is None, "\n".join(lines)
        lines.append(consumer.stderr.readline().rstrip("\n"))
    time.sleep(1)  # its signal handlers are set after these lines
    consumer.send_signal(signal.SIGINT)
    _, err = consumer.communicate(timeout=30)
    lines = [line for line in lines + err.splitlines() if line.strip()]
    huey_lines = [line for line in lines if "huey" in line]
    assert huey_lines, f"the consumer logged nothing of its own:\n{err[-2000:]}"
    for line in lines:
        assert line.startswith("{"), f"not a JSON line: {line!r}\n" + "\n".join(lines)
        record = json.loads(line)
        assert record["level"]
    messages = [json.loads(line)["message"] for line in huey_lines]
    assert len(messages) == len(set(messages)), "a line was written twice"
