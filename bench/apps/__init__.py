"""The apps the bench serves: tokensmith itself (through the one factory) and the reference apps.

Each runs in its own uvicorn process and learns its database and key from the environment
(`bench.apps.environment`), so the harness starts them all the same way.
"""
