"""Swagger UI as a person sees it: a real server, headless Chromium, every dialect in `DIALECTS`.

Why a browser: the UI page is a shell that loads Swagger UI's JavaScript and then the spec from the
server; a plain HTTP check would pass even if the bundle, the spec URL or a `$ref` were broken. Here the
page must actually render, in Chromium, every operation the spec declares.

Chromium is Debian's `chromium` package (`.ci/run` installs it when missing), driven through its own
headless command-line mode: one launch per dialect renders the page, dumps the DOM after Swagger UI
has run, and writes a screenshot to `tests/artifacts/swagger-ui-<dialect>.png` (gitignored) for a
person to look at.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.contract.specs import STEMS_AND_BASES, load_spec, operations
from tokensmith import runtime
from tokensmith.core import Core

CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SWAGGER_FLAG = ".feature_flags.enable_swagger"

# Flags that work on a machine without a display, a sandbox, a GPU or the internet: nothing may leave
# this machine, and Chromium must not try to update, sync or phone home while it renders.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
# Virtual time, not wall time: Chromium fast-forwards through idle periods and holds the clock while
# the bundle and the spec are still loading, so this is an upper bound on the page's own timers.
VIRTUAL_TIME_BUDGET_MS = 20_000

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)",
)


def set_swagger_flag(core: Core, enabled: bool) -> None:
    with core.db.write() as session:
        runtime.set_value(session, SWAGGER_FLAG, str(enabled), core.clock.now())


class _RenderedOperations(HTMLParser):
    """Collects what Swagger UI drew for each operation: [METHOD, path, summary] per `opblock`.

    Each operation's summary row holds, in this order, a method badge (`opblock-summary-method`), the
    path (`data-path` on `opblock-summary-path`, or `opblock-summary-path__deprecated`) and the summary
    (`opblock-summary-description`, absent when the spec gives none).
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.operations: list[list[str]] = []
        self.has_errors = False
        self._capturing: str | None = None  # "method" or "summary" while inside those elements
        self._text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if "errors-wrapper" in classes:
            self.has_errors = True
        if self._capturing:
            self._depth += 1
            return
        if "opblock-summary-method" in classes:
            self._capturing, self._text, self._depth = "method", [], 0
        elif "opblock-summary-description" in classes and self.operations:
            self._capturing, self._text, self._depth = "summary", [], 0
        elif (
            self.operations
            and "data-path" in attributes
            and any(c.startswith("opblock-summary-path") for c in classes)
        ):
            self.operations[-1][1] = attributes["data-path"] or ""

    def handle_endtag(self, tag: str) -> None:
        if not self._capturing:
            return
        if self._depth:
            self._depth -= 1
            return
        text = " ".join("".join(self._text).split())
        if self._capturing == "method":
            self.operations.append([text.upper(), "", ""])
        else:
            self.operations[-1][2] = text
        self._capturing = None

    def handle_data(self, data: str) -> None:
        if self._capturing:
            self._text.append(data)


def render_in_chromium(url: str, screenshot: Path, height: int) -> str:
    """One headless Chromium launch: the DOM after Swagger UI ran, and a screenshot of the page."""
    assert CHROMIUM is not None
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="tokensmith-chromium-") as profile:
        result = subprocess.run(
            [
                CHROMIUM,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size=1280,{height}",
                f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
                f"--screenshot={screenshot}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, f"chromium exited with {result.returncode}:\n{result.stderr[-4000:]}"
    assert screenshot.is_file() and screenshot.stat().st_size > 0, f"no screenshot:\n{result.stderr[-4000:]}"
    return result.stdout


def problems_on_the_page(stem: str, base: str, server: str) -> list[str]:
    """Render one dialect's Swagger UI and say everything that differs from its spec (nothing: [])."""
    expected = operations(stem)
    if not expected:
        return [f"openapi/{stem}.yaml declares no operation"]
    screenshot = ARTIFACTS / f"swagger-ui-{stem}.png"
    # Tall enough that the description and every operation fit in the screenshot.
    height = min(12_000, 1_000 + 60 * len(expected))
    dom = render_in_chromium(f"{server}{base}/ui/", screenshot, height)

    page = _RenderedOperations()
    page.feed(dom)
    problems = []
    if page.has_errors:
        problems.append("Swagger UI shows errors")
    title = " ".join(load_spec(stem)["info"]["title"].split())
    if title not in " ".join(html.unescape(dom).split()):
        problems.append(f"the page does not show the spec's title {title!r}")
    rendered = {(method, path): summary for method, path, summary in page.operations}
    missing = [str(op) for op in expected if (op.method, op.path) not in rendered]
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} operations not listed: {missing}")
    unexpected = sorted(set(rendered) - {(op.method, op.path) for op in expected})
    if unexpected:
        problems.append(f"operations listed that the spec lacks: {unexpected}")
    wrong_summaries = [
        (str(op), op.summary, rendered[(op.method, op.path)])
        for op in expected
        if op.summary
        and (op.method, op.path) in rendered
        and " ".join(op.summary.split()) != rendered[(op.method, op.path)]
    ]
    if wrong_summaries:
        problems.append(f"summaries differ (operation, spec, page): {wrong_summaries}")
    return [f"{stem} ({base}/ui/, see {screenshot}): {problem}" for problem in problems]


@needs_chromium
def test_swagger_ui_in_chromium_lists_every_operation_of_every_dialect(live_server, core):
    """One server for all dialects (starting one is the slow part), one Chromium launch per dialect;
    every dialect is checked and screenshotted even when an earlier one fails."""
    set_swagger_flag(core, True)
    problems = [
        problem for stem, base in STEMS_AND_BASES for problem in problems_on_the_page(stem, base, live_server)
    ]
    assert not problems, "Swagger UI does not match the specs:\n" + "\n".join(problems)


def test_swagger_ui_paths_answer_404_while_the_flag_is_off_and_follow_it_at_runtime(live_server, core):
    """The flag is read per request: no restart, every dialect, the page and its assets alike."""
    ui_paths = [
        f"{base}{suffix}"
        for _stem, base in STEMS_AND_BASES
        for suffix in ("/ui/", "/ui", "/ui/swagger-ui-bundle.js", "/ui/swagger-ui.css")
    ]
    spec_paths = [f"{base}/openapi.json" for _stem, base in STEMS_AND_BASES]

    def statuses(paths: list[str]) -> dict[str, int]:
        with httpx.Client(base_url=live_server, timeout=10) as http:
            return {path: http.get(path).status_code for path in paths}

    off = statuses(ui_paths)
    assert off == dict.fromkeys(ui_paths, 404), f"UI served while the flag is off (default): {off}"
    assert statuses(spec_paths) == dict.fromkeys(spec_paths, 200)

    set_swagger_flag(core, True)
    on = statuses([f"{base}/ui/" for _stem, base in STEMS_AND_BASES])
    assert set(on.values()) == {200}, f"UI not served once the flag is on: {on}"

    set_swagger_flag(core, False)
    again = statuses(ui_paths)
    assert again == dict.fromkeys(ui_paths, 404), f"UI still served after the flag was turned off: {again}"
    assert statuses(spec_paths) == dict.fromkeys(spec_paths, 200), "the spec JSON must not follow the flag"
