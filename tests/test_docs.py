"""The documentation: README.md and docs/ build into a site with no broken link or anchor, and every shell
block in them runs.

How the shell blocks run: for each page, every ```bash / ```sh / ```shell / ```console block not marked
`<!-- not-run: reason -->` is run in order, in one `bash` (`set -euo pipefail`, so a variable the page has
not defined yet is an error), in a fresh directory of its own. That directory holds what a clone holds
for a reader who ran the two set-up commands: `.venv` (this interpreter's environment), `examples/` and
`openapi/`. Before the first block the test starts `tokensmith serve` there, as the first set-up command
does, on an empty database and a free port. The shell gets only PATH (without any virtual environment:
a page that wants `tokensmith` on PATH activates `.venv` itself), HOME and LANG; and the one rewrite of a
block's text is the server's address, `127.0.0.1:8000` becoming `127.0.0.1:<the free port>`.

A ```json or ```text block right after a run block is the output that block shows, and is checked: JSON
by its keys and values (an object may show fewer keys than the reply has; a string with `…` matches any
text in its place), text line by line (blank lines aside) with `…` matching anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
OUTPUT = {"json", "text"}
ADDRESS = "127.0.0.1:8000"
MARK = "\x1e"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[^`\s]*)\s*$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not-run:(?P<reason>.*?)-->\s*$")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    not_run: str | None  # the reason, when marked
    shows: Block | None = None  # the output block right after it


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a page, with the not-run marker just before it and the output just after."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    i = 0
    previous_end = -1
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, lang = len(opening["indent"]), opening["lang"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        assert j < len(lines), f"{path.name}:{i + 1}: a fence that never closes"
        before = [line for line in lines[previous_end + 1 : i] if line.strip()]
        marker = _NOT_RUN.match(before[-1]) if before else None
        block = Block(
            path.name, i + 1, lang, "\n".join(body) + "\n", marker["reason"].strip() if marker else None
        )
        if lang in OUTPUT and found and not before and found[-1].lang in SHELL:
            found[-1].shows = block
        found.append(block)
        previous_end = j
        i = j + 1
    return found


def test_every_block_names_its_language_and_every_marker_a_reason():
    for page in PAGES:
        for block in blocks(page):
            where = f"{block.page}:{block.line}"
            assert block.lang, f"{where}: a fence with no language (shell commands must say bash or sh)"
            if block.not_run is not None:
                assert block.lang in SHELL, f"{where}: a not-run marker on a {block.lang} block"
                assert len(block.not_run) >= 10, f"{where}: a not-run marker must say why"


def test_a_not_run_marker_is_found_only_directly_before_its_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- not-run: needs a vendor server -->\n\n```sh\na\n```\n\ntext\n\n```sh\nb\n```\n")
    first, second = blocks(page)
    assert first.not_run == "needs a vendor server" and second.not_run is None


# --- shown output ---------------------------------------------------------------------------------------


def _wildcard(shown: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in shown.split("…")), re.DOTALL)


def _matches(shown: Any, actual: Any) -> bool:
    if isinstance(shown, dict):
        return isinstance(actual, dict) and all(
            k in actual and _matches(v, actual[k]) for k, v in shown.items()
        )
    if isinstance(shown, list):
        return (
            isinstance(actual, list)
            and len(shown) == len(actual)
            and all(_matches(s, a) for s, a in zip(shown, actual, strict=True))
        )
    if isinstance(shown, str) and "…" in shown:
        return isinstance(actual, str) and _wildcard(shown).fullmatch(actual) is not None
    return type(shown) is type(actual) and shown == actual


def _documents(text: str) -> list[Any]:
    decoder, documents, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        while text[at].isspace():
            at += 1
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
    return documents


def shows_what_it_printed(shown: Block, printed: str) -> str | None:
    """None when `printed` is what the output block shows; else why not."""
    if shown.lang == "json":
        try:
            actual = _documents(printed)
        except ValueError:
            return f"the block printed no JSON:\n{printed}"
        expected = _documents(shown.text)
        if len(actual) != len(expected) or not all(map(_matches, expected, actual)):
            return f"it printed\n{printed}\nwhich is not what the page shows:\n{shown.text}"
        return None
    want = [line.rstrip() for line in shown.text.splitlines() if line.strip()]
    got = [line.rstrip() for line in printed.splitlines() if line.strip()]
    if len(want) != len(got) or not all(_wildcard(w).fullmatch(g) for w, g in zip(want, got, strict=True)):
        return f"it printed\n{printed}\nwhich is not what the page shows:\n{shown.text}"
    return None


def test_shown_json_matches_by_keys_and_values_with_wildcards():
    shown = Block("p", 1, "json", '{"token": "tsa_…", "user_id": 2}\n', None)
    assert shows_what_it_printed(shown, '{"token":"tsa_abc","user_id":2,"extra":true}') is None
    assert shows_what_it_printed(shown, '{"token":"tsr_abc","user_id":2}') is not None
    assert shows_what_it_printed(shown, '{"token":"tsa_abc","user_id":"2"}') is not None
    assert shows_what_it_printed(shown, '{"token":"tsa_abc"}') is not None
    assert shows_what_it_printed(shown, "Internal Server Error") is not None


def test_shown_text_matches_line_by_line_with_wildcards():
    shown = Block("p", 1, "text", "Imported 3 into …: a, b\n", None)
    assert shows_what_it_printed(shown, "Imported 3 into bbc5-12: a, b\n") is None
    assert shows_what_it_printed(shown, "Imported 2 into bbc5-12: a, b\n") is not None


# --- running a page -------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _plain_path() -> str:
    """PATH without any virtual environment's bin directory: a page activates `.venv` itself."""
    return os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if entry and not (Path(entry).parent / "pyvenv.cfg").exists()
    )


def _reader_directory(tmp_path: Path) -> Path:
    here = tmp_path / "reader"
    here.mkdir()
    (here / ".venv").symlink_to(Path(sys.prefix))
    for shared in ("examples", "openapi"):
        (here / shared).symlink_to(ROOT / shared)
    return here


def _start_server(here: Path, port: int) -> subprocess.Popen[bytes]:
    tokensmith = Path(sys.prefix) / "bin" / "tokensmith"
    assert tokensmith.exists(), f"{tokensmith} is missing: install the project into this environment"
    env = {"PATH": _plain_path(), "HOME": str(here), "LANG": "C.UTF-8", "TOKENSMITH_PORT": str(port)}
    log = (here.parent / "server.log").open("wb")
    process = subprocess.Popen([str(tokensmith), "serve"], cwd=here, env=env, stdout=log, stderr=log)
    import httpx

    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((here.parent / "server.log").read_text()) from None
            time.sleep(0.1)


def _script(runnable: list[Block], port: int) -> str:
    parts = ["set -euo pipefail\n"]
    for index, block in enumerate(runnable):
        parts.append(f"printf '\\n{MARK}%s{MARK}\\n' {index}; printf '\\n{MARK}%s{MARK}\\n' {index} >&2\n")
        parts.append(block.text.replace(ADDRESS, f"127.0.0.1:{port}"))
    parts.append(f"printf '\\n{MARK}end{MARK}\\n'\n")
    return "".join(parts)


def _split(stream: str) -> dict[str, str]:
    pieces = re.split(f"\n{MARK}(\\w+){MARK}\n", stream)
    return dict(zip(pieces[1::2], pieces[2::2], strict=True))


def shell_pages() -> list[Path]:
    return [page for page in PAGES if any(b.lang in SHELL for b in blocks(page))]


@pytest.mark.skipif(
    bool(os.environ.get("TOKENSMITH_TEST_DATABASE_URL", "").strip()),
    reason="the pages run on a reader's default database (SQLite in the working directory), whatever "
    "TOKENSMITH_TEST_DATABASE_URL says: the SQLite run of the suite covers them",
)
@pytest.mark.parametrize("page", shell_pages(), ids=lambda page: page.name)
def test_every_shell_block_of_the_page_runs(page: Path, tmp_path: Path):
    assert shutil.which("jq") and shutil.which("curl"), "the docs' examples use curl and jq: install both"
    found = [b for b in blocks(page) if b.lang in SHELL]
    runnable = [b for b in found if b.not_run is None]
    if not runnable:
        pytest.skip(f"{page.name}: every shell block is marked not-run")
    here = _reader_directory(tmp_path)
    port = _free_port()
    server = _start_server(here, port)
    try:
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", _script(runnable, port)],
            cwd=here,
            env={"PATH": _plain_path(), "HOME": str(here), "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=180,
        )
        took = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    out, err = _split(done.stdout), _split(done.stderr)
    reached = [key for key in out if key != "end"]
    failing = runnable[int(reached[-1])] if reached else runnable[0]
    log = (tmp_path / "server.log").read_text()[-3000:]
    assert done.returncode == 0 and "end" in out, (
        f"{page.name}:{failing.line}: the block failed (exit {done.returncode}):\n{failing.text}\n"
        f"--- its output\n{out.get(reached[-1] if reached else '0', '')}\n"
        f"--- its errors\n{err.get(reached[-1] if reached else '0', done.stderr)}\n--- server log\n{log}"
    )
    assert len(reached) == len(runnable)
    for index, block in enumerate(runnable):
        if block.shows is not None:
            wrong = shows_what_it_printed(block.shows, out[str(index)])
            assert wrong is None, f"{page.name}:{block.line}: {wrong}"
    assert " 500 " not in log and '"status":500' not in log, f"{page.name}: the server answered a 500:\n{log}"
    print(f"{page.name}: {len(runnable)} blocks ran in {took:.1f} s; not run: {len(found) - len(runnable)}")


def test_the_runner_fails_a_page_that_uses_a_variable_before_defining_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('```sh\necho "$PASSWORD"\n```\n\n```sh\nPASSWORD=x\n```\n')
    done = subprocess.run(
        ["bash", "-c", _script(blocks(page), 8000)],
        capture_output=True,
        text=True,
        env={"PATH": _plain_path()},
    )
    assert done.returncode != 0 and "PASSWORD" in done.stderr
    assert list(_split(done.stdout)) == ["0"]  # the failing block is the first; the second never ran


# --- the site --------------------------------------------------------------------------------------------


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(config),
            "--site-dir",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_site_builds_with_no_warning(tmp_path):
    done = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "site" / "index.html").exists()


@pytest.mark.parametrize(
    ("link", "complaint"),
    [
        ("[gone](no-such-page.md)", "no-such-page.md"),
        ("[gone](security.md#no-such-heading)", "no-such-heading"),
    ],
    ids=["page", "anchor"],
)
def test_a_broken_link_fails_the_build(tmp_path, link, complaint):
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + f"\nSee {link}.\n")
    done = _build(copy / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert complaint in done.stderr


# --- the front door --------------------------------------------------------------------------------------


README = ROOT / "README.md"


def test_readme_is_a_front_door_with_the_first_token_on_the_first_screen():
    lines = README.read_text().splitlines()
    assert len(lines) < 200
    first_token = next(i for i, line in enumerate(lines) if "tokensmith user create" in line)
    assert first_token < 60, "a newcomer's first token must start on the first screen"


def test_readme_links_point_at_files_that_exist():
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text()):
        if "://" not in target:
            assert (ROOT / target).exists(), target


def test_ci_runs_the_readme_test_command_verbatim():
    setup = next(b for b in blocks(README) if b.lang in SHELL)
    command = next(line for line in setup.text.splitlines() if "pytest" in line)
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_plugin_example_is_the_test_file_it_names():
    page = ROOT / "docs" / "contract-testing.md"
    shown = [b.text for b in blocks(page) if b.lang == "python" and "def test_" in b.text]
    assert shown == [(ROOT / "tests" / "plugin_outside" / "test_vendor_sdks.py").read_text()]


def test_architecture_names_every_module():
    """docs/architecture.md gives every module of the core and of the HTTP face a line of its own."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    for package in ("tokensmith", "handlers"):
        for module in sorted((ROOT / package).rglob("*.py")):
            relative = module.relative_to(ROOT / package).as_posix()
            if relative.startswith(("migrations/", "openapi/")):
                continue
            assert f"| `{relative}` |" in page, f"docs/architecture.md does not name {package}/{relative}"
