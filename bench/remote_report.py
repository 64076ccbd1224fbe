"""The remote-database run's report: a table per scenario (each app with PostgreSQL local and through
the latency proxy, at each connection count), issue 16's target ratios marked met or missed, the
machine and the round trip the proxy really added.

As in `bench.report`, a ratio is the median of per-round ratios: the two runs divided by each other
ran back to back in each round, so drift in the machine's other load mostly cancels.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bench.report import Target
from bench.scenarios import ASYNC_FLOOR, FASTAPI, FLOOR, ISSUE, TOKENSMITH, VALIDATE, WHOAMI

LOCAL, REMOTE = "local", "remote"
PLACEMENTS = (LOCAL, REMOTE)
Key = tuple[str, int, str, str]  # (placement, connections, scenario, app)

_APP_ORDER = {TOKENSMITH: 0, FASTAPI: 1, FLOOR: 2, ASYNC_FLOOR: 3}
_SCENARIO_ORDER = {VALIDATE: 0, WHOAMI: 1, ISSUE: 2}


def key(sample: dict[str, Any]) -> Key:
    return (sample["placement"], sample["connections"], sample["scenario"], sample["app"])


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def summarise(samples: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (placement, connections, scenario, app): medians over the rounds, the spread, the errors."""
    groups: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        groups[key(sample)].append(sample)
    rows = []
    for k in sorted(
        groups, key=lambda k: (_SCENARIO_ORDER.get(k[2], 9), _APP_ORDER.get(k[3], 9), k[0], k[1])
    ):
        group = groups[k]
        rps = [s["rps"] for s in group]
        rows.append(
            {
                "placement": k[0],
                "connections": k[1],
                "scenario": k[2],
                "app": k[3],
                "rounds": len(group),
                "rps": round(statistics.median(rps), 1),
                "rps_min": min(rps),
                "rps_max": max(rps),
                "p50_ms": _median(s["p50_ms"] for s in group),
                "p99_ms": _median(s["p99_ms"] for s in group),
                "cpu_us": _median(s.get("cpu_us") for s in group),
                "db_rtt_ms": _median(s.get("db_rtt_median_ms") for s in group),
                "errors": sum(s["errors"] for s in group),
            }
        )
    return rows


@dataclass(frozen=True)
class Side:
    """One side of a ratio: a figure of one app's runs (the connection count is the ratio row's)."""

    placement: str
    scenario: str
    app: str
    field: str

    @classmethod
    def parse(cls, text: str) -> Side:
        """From "placement scenario app field", e.g. "remote validate tokensmith rps"."""
        placement, scenario, app, field = text.split()
        return cls(placement, scenario, app, field)


@dataclass(frozen=True)
class Ratio:
    """`top ÷ bottom`, with the issue's target when it sets one ("op bound", e.g. ">= 0.8")."""

    name: str
    top: Side
    bottom: Side
    target: Target | None

    @classmethod
    def of(cls, name: str, top: str, bottom: str, target: str | None = None) -> Ratio:
        bound = None
        if target:
            op, value = target.split()
            bound = Target(name, op, float(value))
        return cls(name, Side.parse(top), Side.parse(bottom), bound)


RATIOS = [
    # Issue 16's targets.
    Ratio.of(
        "validate req/s: remote ÷ local (tokensmith)",
        "remote validate tokensmith rps",
        "local validate tokensmith rps",
        ">= 0.8",
    ),
    Ratio.of(
        "remote validate req/s: tokensmith ÷ FastAPI twin",
        "remote validate tokensmith rps",
        "remote validate fastapi rps",
        ">= 1.0",
    ),
    Ratio.of(
        "remote validate: p99 ÷ p50 (tokensmith)",
        "remote validate tokensmith p99_ms",
        "remote validate tokensmith p50_ms",
        "<= 5",
    ),
    Ratio.of(
        "issue req/s: remote ÷ local (tokensmith)",
        "remote issue tokensmith rps",
        "local issue tokensmith rps",
        ">= 0.5",
    ),
    Ratio.of(
        "local validate req/s: tokensmith ÷ floor",
        "local validate tokensmith rps",
        "local validate floor rps",
        ">= 0.6",
    ),
    Ratio.of(
        "local validate req/s: tokensmith ÷ async floor",
        "local validate tokensmith rps",
        "local validate async-floor rps",
        ">= 0.6",
    ),
    Ratio.of(
        "local whoami req/s: tokensmith ÷ floor",
        "local whoami tokensmith rps",
        "local whoami floor rps",
        ">= 0.6",
    ),
    Ratio.of(
        "local whoami req/s: tokensmith ÷ async floor",
        "local whoami tokensmith rps",
        "local whoami async-floor rps",
        ">= 0.6",
    ),
    Ratio.of(
        "local p50: issue ÷ validate (tokensmith)",
        "local issue tokensmith p50_ms",
        "local validate tokensmith p50_ms",
        "<= 3",
    ),
    # For context: what the reference apps make of the same latency, and the rest of tokensmith's picture.
    Ratio.of(
        "validate req/s: remote ÷ local (async floor)",
        "remote validate async-floor rps",
        "local validate async-floor rps",
    ),
    Ratio.of(
        "validate req/s: remote ÷ local (FastAPI twin)",
        "remote validate fastapi rps",
        "local validate fastapi rps",
    ),
    Ratio.of(
        "remote validate req/s: tokensmith ÷ async floor",
        "remote validate tokensmith rps",
        "remote validate async-floor rps",
    ),
    Ratio.of(
        "whoami req/s: remote ÷ local (tokensmith)",
        "remote whoami tokensmith rps",
        "local whoami tokensmith rps",
    ),
    Ratio.of(
        "remote whoami req/s: tokensmith ÷ async floor",
        "remote whoami tokensmith rps",
        "remote whoami async-floor rps",
    ),
    Ratio.of(
        "remote p50: issue ÷ validate (tokensmith)",
        "remote issue tokensmith p50_ms",
        "remote validate tokensmith p50_ms",
    ),
    Ratio.of(
        "local validate req/s: FastAPI twin ÷ floor",
        "local validate fastapi rps",
        "local validate floor rps",
    ),
]


def ratios(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every ratio whose two sides were measured, at each connection count."""
    by_key: dict[Key, dict[int, dict[str, Any]]] = defaultdict(dict)
    for sample in samples:
        by_key[key(sample)][sample["round"]] = sample
    rows = []
    for connections in sorted({s["connections"] for s in samples}):
        for ratio in RATIOS:
            up, down = ratio.top, ratio.bottom
            top = by_key.get((up.placement, connections, up.scenario, up.app), {})
            bottom = by_key.get((down.placement, connections, down.scenario, down.app), {})
            per_round = [
                top[r][up.field] / bottom[r][down.field]
                for r in sorted(top)
                if r in bottom and bottom[r][down.field]
            ]
            if not per_round:
                continue
            value = round(statistics.median(per_round), 3)
            target = ratio.target
            rows.append(
                {
                    "name": ratio.name,
                    "connections": connections,
                    "value": value,
                    "per_round": [round(x, 3) for x in per_round],
                    "target": f"{target.op} {target.bound:g}" if target else None,
                    "met": target.met(value) if target else None,
                }
            )
    return rows


def _number(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def scenario_tables(summary: list[dict[str, Any]]) -> str:
    """One table per scenario: a row per app and placement, req/s, p50 and p99 per connection count."""
    counts = sorted({row["connections"] for row in summary})
    index = {(r["scenario"], r["app"], r["placement"], r["connections"]): r for r in summary}
    out = []
    for scenario in sorted({r["scenario"] for r in summary}, key=lambda s: _SCENARIO_ORDER.get(s, 9)):
        head = ["app", "database"]
        for c in counts:
            head += [f"c{c} req/s", f"c{c} p50 ms", f"c{c} p99 ms"]
        head += ["DB round trip ms", "errors"]
        lines = [
            f"**{scenario}**",
            "",
            "| " + " | ".join(head) + " |",
            "|---|---|" + "---:|" * (len(head) - 2),
        ]
        apps = sorted(
            {r["app"] for r in summary if r["scenario"] == scenario}, key=lambda a: _APP_ORDER.get(a, 9)
        )
        for app in apps:
            for placement in PLACEMENTS:
                cells = [index.get((scenario, app, placement, c)) for c in counts]
                if not any(cells):
                    continue
                row = [app, placement]
                for cell in cells:
                    if cell is None:
                        row += ["—", "—", "—"]
                    else:
                        row += [
                            f"{cell['rps']:,.0f}",
                            _number(cell["p50_ms"], ".2f"),
                            _number(cell["p99_ms"], ".2f"),
                        ]
                present = [cell for cell in cells if cell]
                row.append(_number(_median(cell["db_rtt_ms"] for cell in present), ".2f"))
                row.append(f"{sum(cell['errors'] for cell in present):,}")
                lines.append("| " + " | ".join(row) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def ratio_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| ratio | connections | measured | target | met | per round |", "|---|---:|---:|---|---|---|"]
    ordered = sorted(
        rows, key=lambda row: (row["target"] is None, [r.name for r in RATIOS].index(row["name"]))
    )
    for row in ordered:
        met = "—" if row["met"] is None else ("met" if row["met"] else "**missed**")
        rounds = ", ".join(f"{x:.2f}" for x in row["per_round"])
        lines.append(
            f"| {row['name']} | {row['connections']} | {row['value']:.2f} | {row['target'] or '—'} | {met} "
            f"| {rounds} |"
        )
    return "\n".join(lines)


def describe_rtt(measured: dict[str, Any]) -> str:
    direct, proxied = measured["direct"], measured["proxy"]
    added = proxied["median_ms"] - direct["median_ms"]
    return (
        f"direct median {direct['median_ms']:.3f} ms (p90 {direct['p90_ms']:.3f}), through the proxy "
        f"median {proxied['median_ms']:.3f} ms (p90 {proxied['p90_ms']:.3f}): adds {added:.2f} ms"
    )


def machine_line(document: dict[str, Any]) -> str:
    m = document["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in m["packages"].items() if version)
    wrk = (m.get("wrk") or "wrk ?").split(" Copyright")[0]
    return (
        f"{m['cores']}-core {m['cpu']}, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}, "
        f"PostgreSQL {m.get('postgresql', '?')}, {wrk}; {packages}; {m['pinning']}"
    )


def render(document: dict[str, Any]) -> str:
    """The whole report as markdown, from a result document (what `bench.remote` saves)."""
    git = document["git"]
    config = document["config"]
    rtt = document["rtt"]
    loads = document["load_average"]
    during = {
        placement: _median(row["db_rtt_ms"] for row in document["summary"] if row["placement"] == placement)
        for placement in PLACEMENTS
    }
    parts = [
        f"Remote-database run at {git['sha']}{' (+uncommitted changes)' if git['dirty'] else ''}, "
        f"{document['started_at']} → {document['finished_at']}; {config['rounds']} rounds of "
        f"{config['seconds']:g} s per app, scenario, database and connection count "
        f"({', '.join(str(c) for c in config['connections'])} connections), {config['tokens']:,} tokens.",
        f"Machine: {machine_line(document)}.",
        f"Load average: before {loads['before']}, after {loads['after']}.",
        f"Latency proxy: {config['delay_ms']:g} ms per direction set. `SELECT 1` round trip "
        f"({rtt['before']['direct']['queries']} queries each), "
        f"before the run: {describe_rtt(rtt['before'])}; "
        + (f"after the run: {describe_rtt(rtt['after'])}. " if rtt.get("after") else "")
        + f"During the runs (a `SELECT 1` every 20 ms beside the load, median of the runs): local "
        f"{_number(during[LOCAL], '.2f')} ms, remote {_number(during[REMOTE], '.2f')} ms.",
        scenario_tables(document["summary"]),
        "**Targets** (issue 16; each ratio at each connection count)",
        ratio_table(document["ratios"]),
    ]
    return "\n\n".join(parts)
