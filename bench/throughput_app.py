"""The app as production runs it, plus a bare "hello" endpoint that exists
only in the benchmark: the ceiling the other endpoints are compared with
(same server, same middleware: WhiteNoise, compression, security headers).

    gunicorn --workers 2 bench.throughput_app:app
"""
from __future__ import annotations

from webapp import access, create_app

access.POLICY["bench_hello"] = access.public()
app = create_app()


@app.get("/bench/hello", endpoint="bench_hello")
def hello():
    return "hello"
