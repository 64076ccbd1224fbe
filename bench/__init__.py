"""tokensmith's performance harness (issue 6): real uvicorn servers, wrk, reference apps in the same run.

Run it with `.venv/bin/python -m bench.run` (see docs/performance.md). Nothing here is imported by the
app or by the test suite except `tests/test_bench_smoke.py`, which checks that the reference apps answer
the same wire bodies as tokensmith, so that the timings compare like with like.
"""
