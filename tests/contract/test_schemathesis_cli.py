"""The docs' schemathesis commands, run as written against a fresh demo server: 0 failures, server usable.

Why: docs/contract-testing.md tells readers how to fuzz each spec with schemathesis against a live
server. Those commands are the contract run consumers repeat; if they fail, or end their own
credentials and leave the rest of the run answering 401, or turn Swagger UI off, the page is wrong.

What runs: in docs/contract-testing.md, each ```sh block preceded by `<!-- contract-run: <spec> -->`
(the commands for that spec), after every block marked `<!-- contract-setup -->` (the credentials and
settings the commands use), in one `bash -euo pipefail`, in the directory of a fresh server seeded by
`tokensmith demo` (its output in `demo.txt`, as the page's own demo block leaves it), with `$BASE` the
server's address and the server's database in the environment (so `tokensmith conf` reaches it). The
one rewrite bounds the run for CI: `--max-examples N` becomes `$CONTRACT_MAX_EXAMPLES` (default 5) and
each `schemathesis run` gets `--max-time $CONTRACT_MAX_TIME` (seconds, default 15) and `--seed
$CONTRACT_SEED` (default 1: CI generates the same cases each run, so a red run is the change's, not the
dice's; set another number to explore, `CONTRACT_SEED=` for schemathesis's own random one).

After the block: exit 0 (schemathesis exits non-zero on any failure), the server alive, each credential
variable the block's first command presents still authenticated, Swagger UI still on, and every setting
as the first command left it (a later command that fuzzes settings puts them back).

Slow (minutes): marked `contract_cli`; deselect with `-m "not contract_cli"`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from handlers import routes
from tests.contract.demo_server import DemoServer

REPOSITORY = Path(__file__).resolve().parents[2]
DOC = REPOSITORY / "docs" / "contract-testing.md"
MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "5")
MAX_TIME = os.environ.get("CONTRACT_MAX_TIME", "15")
SEED = os.environ.get("CONTRACT_SEED", "1")
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\S*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*contract-(?P<kind>run|setup)(?::\s*(?P<name>[\w-]+))?\s*-->\s*$")

pytestmark = pytest.mark.contract_cli


@dataclass
class MarkedBlock:
    kind: str  # "run" or "setup"
    name: str | None  # the spec stem of a run block
    line: int
    text: str


def marked_blocks(path: Path = DOC) -> list[MarkedBlock]:
    """The page's shell blocks marked contract-run or contract-setup, in page order."""
    lines = path.read_text().splitlines()
    found, marker, i = [], None, 0
    while i < len(lines):
        match = _MARKER.match(lines[i])
        if match:
            marker = match
        opening = _FENCE.match(lines[i])
        if opening and opening["lang"]:
            indent = len(opening["indent"])
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            if marker is not None and opening["lang"] in ("sh", "bash", "shell"):
                body = "\n".join(line[indent:] for line in lines[i + 1 : j]) + "\n"
                found.append(MarkedBlock(marker["kind"], marker["name"], i + 1, body))
            marker, i = None, j + 1
            continue
        if lines[i].strip() and not lines[i].lstrip().startswith("<!--"):
            marker = None  # a marker applies to the block right after it (other markers between allowed)
        i += 1
    return found


def bounded(text: str) -> str:
    """The commands with the CI bounds: `--max-examples` from the environment, a `--max-time`, and
    `--seed` unless the seed is empty."""
    text = re.sub(r"--max-examples[ =]\S+", '--max-examples "$CONTRACT_MAX_EXAMPLES"', text)
    seed = ' ${CONTRACT_SEED:+--seed "$CONTRACT_SEED"}'
    return re.sub(
        r"\bschemathesis((?: --config-file \S+)?) run ",
        rf'schemathesis\1 run --max-time "$CONTRACT_MAX_TIME"{seed} ',
        text,
    )


def split_first_command(text: str) -> tuple[str, str]:
    """(everything up to the end of the block's first schemathesis command, the rest): the first is
    the main run, which must keep its credentials alive; the rest may spend throwaway ones."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if re.match(r"\s*schemathesis\b", line):
            end = index
            while lines[end].rstrip("\n").endswith("\\"):
                end += 1
            return "".join(lines[: end + 1]), "".join(lines[end + 1 :])
    return text, ""


def first_command_variables(text: str) -> list[str]:
    """The variables the block's first command presents (`$TOKEN` in `-H "TOKEN: $TOKEN"`)."""
    first = split_first_command(text.strip() + "\n")[0]
    return sorted(set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", first)) - {"BASE"})


_FAILURE_HEADING = re.compile(
    r"^_{3,} (?P<operation>(?:GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS) \S+) _{3,}$", re.MULTILINE
)


def failing_operations(output: str) -> list[str]:
    """`METHOD /path` of each failure section schemathesis printed (one heading per failing operation)."""
    return list(dict.fromkeys(match["operation"] for match in _FAILURE_HEADING.finditer(output)))


def failures_section(output: str, limit: int = 8000) -> str:
    """The FAILURES part of a schemathesis report (each failing case, with its curl to replay it)."""
    start = output.find("= FAILURES =")
    end = output.find("= SUMMARY =", start if start >= 0 else 0)
    part = output[start:end] if start >= 0 else output[-limit:]
    summary = output[end:] if end >= 0 else ""
    return (part[:limit] + ("\n[…]" if len(part) > limit else "")) + "\n" + summary[-2500:]


BLOCKS = marked_blocks()
RUNS = [block for block in BLOCKS if block.kind == "run"]
SETUP = [block for block in BLOCKS if block.kind == "setup"]


def test_the_page_has_a_contract_run_for_every_spec_a_server_serves():
    named = [block.name for block in RUNS]
    assert SETUP, f"{DOC.name}: no <!-- contract-setup --> block"
    missing = [stem for stem, _base, _wire in routes.DIALECTS if stem not in named]
    assert not missing, f"{DOC.name}: no <!-- contract-run: <spec> --> block for {missing}"
    assert len(named) == len(set(named)), f"{DOC.name}: a spec has two contract-run blocks: {named}"


def test_the_block_parser_finds_markers_only_right_before_their_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- contract-setup -->\n<!-- not-run: slow -->\n```sh\nA=1\n```\n\n"
        "<!-- contract-run: ops -->\ntext between\n```sh\nnot marked\n```\n\n"
        "<!-- contract-run: admin -->\n\n```sh\n"
        'schemathesis run $BASE/x -H "T: $TOKEN" --max-examples 50\n```\n'
    )
    found = marked_blocks(page)
    assert [(b.kind, b.name) for b in found] == [("setup", None), ("run", "admin")]
    assert first_command_variables(found[1].text) == ["TOKEN"]
    assert '--max-examples "$CONTRACT_MAX_EXAMPLES"' in bounded(found[1].text)
    assert 'run --max-time "$CONTRACT_MAX_TIME" ${CONTRACT_SEED:+--seed "$CONTRACT_SEED"} $BASE' in bounded(
        found[1].text
    )


def _still_authenticated(server: DemoServer, variables: dict[str, str]) -> list[str]:
    """Which credential variables no longer authenticate (each checked where it is accepted)."""
    checks = {
        "TOKEN": ("/api/v1/whoami", "TOKEN", ""),
        "ADMIN_TOKEN": ("/api/v1/whoami", "TOKEN", ""),
        "BOB_TOKEN": ("/api/v1/whoami", "TOKEN", ""),
        "CC_TOKEN": ("/commandcenter/api/WhoAmI", "Authtoken", ""),
        "SUPERADMIN_TOKEN": ("/gateway/api/v1/platform/tenants", "Authorization", "Bearer "),
        "TENANT_TOKEN": ("/gateway/api/v1/workflowdefinition", "itas-api-access-key", ""),
    }
    dead = []
    for name, value in variables.items():
        if name not in checks:
            continue
        path, header, prefix = checks[name]
        reply = httpx.get(server.url + path, headers={header: prefix + value}, timeout=30)
        if reply.status_code != 200:
            dead.append(f"${name}: {reply.status_code} {reply.text[:200]}")
    return dead


@pytest.mark.parametrize("block", RUNS, ids=[block.name for block in RUNS])
def test_the_docs_schemathesis_commands_pass_and_leave_the_server_usable(
    block: MarkedBlock, tmp_path_factory: pytest.TempPathFactory
):
    assert shutil.which("curl") and shutil.which("jq"), "the page's commands use curl and jq"
    directory = tmp_path_factory.mktemp(f"schemathesis-{block.name}")
    server = DemoServer(directory, testing=False, swagger_ui=False)
    try:
        (server.directory / "demo.txt").write_text(server.demo.output)
        (server.directory / "examples").symlink_to(REPOSITORY / "examples")  # the config files
        wanted = first_command_variables(block.text)
        first, rest = split_first_command(bounded(block.text))
        setup = "".join(b.text for b in SETUP)
        report = "".join(f'printf "%s=%s\\n" {name} "${name}" >> .contract-vars\n' for name in wanted)
        env = dict(server.env)
        env.update(
            PATH=os.pathsep.join([str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "/usr/bin:/bin")]),
            BASE=server.url,
            CONTRACT_MAX_EXAMPLES=MAX_EXAMPLES,
            CONTRACT_MAX_TIME=MAX_TIME,
            CONTRACT_SEED=SEED,
            HOME=str(server.directory),
            LANG="C.UTF-8",
            NO_COLOR="1",
        )

        def run(script: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", "-c", f"set -euo pipefail\n{script}"],
                cwd=server.directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )

        # The main run, then its credentials checked, then the rest (the setup again: fresh throwaways).
        done = run(setup + first + report)
        reported = server.directory / ".contract-vars"
        lines = reported.read_text().splitlines() if reported.exists() else []
        variables = dict(line.split("=", 1) for line in lines if "=" in line)
        dead = _still_authenticated(server, variables)
        settings = server.cli("conf").stdout  # the main run changes none; later ones put theirs back
        if done.returncode == 0 and rest.strip():
            later = run(setup + rest)
            done = subprocess.CompletedProcess(
                later.args, later.returncode, done.stdout + later.stdout, done.stderr + later.stderr
            )
        output = server.directory / "schemathesis-output.txt"
        output.write_text(done.stdout + "\n--- stderr\n" + done.stderr)
        assert server.alive(), f"the server died:\n{server.log_tail()}"
        problems = []  # all of them, so one run says whether the server stayed usable even when it failed
        if done.returncode != 0:
            problems.append(
                f"exited {done.returncode}; failing operations:\n    "
                + "\n    ".join(failing_operations(done.stdout) or ["(none named: see the output)"])
            )
        if dead:
            problems.append(f"the main run ended the credentials it presents: {dead}")
        ui = {
            base: httpx.get(f"{server.url}{base}/ui/", timeout=30).status_code
            for _stem, base, _wire in routes.DIALECTS
        }
        if set(ui.values()) != {200}:
            problems.append(f"Swagger UI is no longer on everywhere: {ui}")
        if (now := server.cli("conf").stdout) != settings:
            problems.append(f"the settings are not as the main run left them:\n{settings}\n  now:\n{now}")
        assert not problems, (
            f"{DOC.name}:{block.line} ({block.name}):\n  - "
            + "\n  - ".join(problems)
            + f"\n--- the failures\n{failures_section(done.stdout)}\n--- errors\n{done.stderr[-3000:]}"
            f"\n--- whole output: {output}\n--- server log\n{server.log_tail(1500)}"
        )
    finally:
        server.stop()
