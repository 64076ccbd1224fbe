"""The served spec is the file: what a client fetches from a running server is `openapi/<spec>.yaml`.

Why: consumers generate clients and open Swagger UI from the URL as often as from the file. Connexion
serves a processed copy (every `$ref` inlined, `servers` rewritten), from which openapi-python-client
made another client (139 admin models instead of 41). `handlers.app` serves, for every mounted dialect,
`<base>/openapi.yaml` (the file's bytes) and `<base>/openapi.json` (the same document as JSON), and
Swagger UI's page loads the latter. Checked on a real demo server (tests/contract/conftest.py).
"""

from __future__ import annotations

import filecmp
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from handlers import routes
from handlers.app import SPEC_ALIASES
from tests.contract.demo_server import DemoServer
from tests.contract.specs import spec_path

MOUNTED = [(stem, base) for stem, base, _wire in routes.mounted(testing=True)]
# The spec whose client is generated twice (from --url and from --path): the admin API, the one whose
# URL once gave a different client. One is enough; each generation takes seconds.
GENERATED_TWICE = "admin"
_UI_SPEC_URL = re.compile(r'\burl:\s*"(?P<url>[^"]+)"')


def differences(served: Any, written: Any, where: str = "#") -> list[str]:
    """JSON pointers where two documents differ (a type, a value, a key on one side only)."""
    if isinstance(served, dict) and isinstance(written, dict):
        found = []
        for key in written.keys() | served.keys():
            if key not in served:
                found.append(f"{where}/{key}: missing from the served document")
            elif key not in written:
                found.append(f"{where}/{key}: served, but not in the file")
            else:
                found += differences(served[key], written[key], f"{where}/{key}")
        return found
    if isinstance(served, list) and isinstance(written, list) and len(served) == len(written):
        pairs = enumerate(zip(served, written, strict=True))
        return [found for i, (a, b) in pairs for found in differences(a, b, f"{where}/{i}")]
    if type(served) is not type(written) or served != written:
        return [f"{where}: served {served!r}, the file has {written!r} (quote a value YAML reads as a date)"]
    return []


@pytest.mark.parametrize(("stem", "base"), MOUNTED, ids=[stem for stem, _ in MOUNTED])
def test_the_spec_urls_serve_the_file(demo_server: DemoServer, stem: str, base: str):
    written = spec_path(stem).read_bytes()
    as_yaml = httpx.get(f"{demo_server.url}{base}/openapi.yaml", timeout=30)
    assert as_yaml.status_code == 200 and as_yaml.headers["content-type"] == "application/yaml"
    assert as_yaml.content == written, f"{base}/openapi.yaml is not the bytes of openapi/{stem}.yaml"
    as_json = httpx.get(f"{demo_server.url}{base}/openapi.json", timeout=30)
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    wrong = differences(as_json.json(), yaml.safe_load(written))
    assert not wrong, f"{base}/openapi.json differs from openapi/{stem}.yaml:\n" + "\n".join(wrong)


def test_the_alias_urls_serve_the_file(demo_server: DemoServer):
    for alias, stem in SPEC_ALIASES.items():
        served = httpx.get(demo_server.url + alias, timeout=30)
        assert served.status_code == 200
        assert not differences(served.json(), yaml.safe_load(spec_path(stem).read_bytes())), alias


@pytest.mark.parametrize(("stem", "base"), MOUNTED, ids=[stem for stem, _ in MOUNTED])
def test_swagger_ui_loads_the_served_file_and_its_servers_lead_to_the_api(
    demo_server: DemoServer, stem: str, base: str
):
    """The page names the spec URL; that URL is the file; the file's first server, resolved against the
    URL the spec was fetched from (as Swagger UI and OpenAPI resolve a relative server), is the base."""
    page_url = f"{demo_server.url}{base}/ui/"
    page = httpx.get(page_url, timeout=30)
    assert page.status_code == 200, f"{page_url}: {page.status_code} (the demo server turns Swagger UI on)"
    match = _UI_SPEC_URL.search(page.text)
    assert match, f"{page_url} names no spec URL"
    spec_url = urllib.parse.urljoin(page_url, match["url"])
    assert spec_url == f"{demo_server.url}{base}/openapi.json"
    document = httpx.get(spec_url, timeout=30).json()
    assert document == yaml.safe_load(spec_path(stem).read_bytes())
    server = urllib.parse.urljoin(spec_url, document["servers"][0]["url"])
    assert server.rstrip("/") == f"{demo_server.url}{base}", (
        f"openapi/{stem}.yaml: servers[0] ({document['servers'][0]['url']!r}) resolves to {server}, "
        f"not to the API's base {demo_server.url}{base}"
    )


def _generate(source: list[str], output: Path) -> subprocess.CompletedProcess[str]:
    output.parent.mkdir(parents=True, exist_ok=True)
    config = output.parent / "generator-config.yaml"
    config.write_text("post_hooks: []\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            *source,
            "--output-path",
            str(output),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _tree_differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right)
    found = [f"only from --url: {name}" for name in compared.left_only]
    found += [f"only from --path: {name}" for name in compared.right_only]
    found += [f"differs: {name}" for name in compared.diff_files + compared.funny_files]
    for name, sub in compared.subdirs.items():
        found += [f"{name}/{item}" for item in _tree_differences(Path(sub.left), Path(sub.right))]
    return found


def test_a_client_generated_from_the_url_is_the_one_generated_from_the_file(
    demo_server: DemoServer, tmp_path: Path
):
    base = dict(MOUNTED)[GENERATED_TWICE]
    from_url = _generate(["--url", f"{demo_server.url}{base}/openapi.json"], tmp_path / "url" / "client")
    from_path = _generate(["--path", str(spec_path(GENERATED_TWICE))], tmp_path / "path" / "client")
    assert from_url.returncode == 0, f"--url: {from_url.stdout}\n{from_url.stderr}"
    assert from_path.returncode == 0, f"--path: {from_path.stdout}\n{from_path.stderr}"
    wrong = _tree_differences(tmp_path / "url" / "client", tmp_path / "path" / "client")
    assert not wrong, f"openapi/{GENERATED_TWICE}.yaml: the two clients differ:\n" + "\n".join(wrong)
