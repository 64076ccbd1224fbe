"""Fixture start and reset times of the pytest plugin's server (figures: docs/contract-testing.md).

Run: .venv/bin/python bench/measure_testing.py [DATABASE_URL]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

from tokensmith.pytest_plugin import start_server

url = sys.argv[1] if len(sys.argv) > 1 else None
starts, resets = [], []
for _ in range(1 if url else 3):  # a database URL is one database: one run
    with tempfile.TemporaryDirectory() as directory:
        server = start_server(Path(directory), url)
        starts.append(server.start_seconds)
        server.seed(
            {
                "users": [{"username": f"user{i}", "password": "correct horse battery"} for i in range(20)],
                "tokens": [{"user": f"user{i % 20}", "kind": "refresh"} for i in range(200)],
            }
        )
        server.reset(fresh=False)
        for _ in range(20):
            began = time.perf_counter()
            server.reset()
            resets.append(time.perf_counter() - began)
        server.stop()
print(f"start: median {statistics.median(starts):.2f} s (of {len(starts)})")
print(
    f"reset (20 users, 200 tokens, their audit rows): median {statistics.median(resets) * 1000:.1f} ms, "
    f"max {max(resets) * 1000:.1f} ms (of {len(resets)}, over HTTP)"
)
