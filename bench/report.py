"""Turning samples into the table, the issue's ratios (with their targets) and the JSON file; comparing
two JSON files.

A ratio between two apps is the median of per-round ratios: the apps of a round ran back to back, so
pairing them cancels most of the drift that other work on the machine causes between rounds.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import ASYNC_FLOOR, FASTAPI, FLOOR, ISSUE, SIMPLEJWT, TOKENSMITH, VALIDATE, WHOAMI

Key = tuple[str, int, str, str]  # (db, tokens, scenario, app)


@dataclass(frozen=True)
class Target:
    """A ratio the issue asks for: `value op bound`."""

    name: str
    op: str
    bound: float

    def met(self, value: float) -> bool:
        return value >= self.bound if self.op == ">=" else value <= self.bound


VS_FLOOR = Target("validate req/s: tokensmith ÷ floor", ">=", 0.6)
VS_FASTAPI = Target("validate req/s: tokensmith ÷ FastAPI twin", ">=", 1.0)
VS_SIMPLEJWT = Target("validate req/s: tokensmith ÷ simplejwt", ">=", 3.0)
BIG_VS_SMALL = Target("validate req/s: tokensmith at {big} ÷ at {small} tokens", ">=", 0.9)
ISSUE_VS_VALIDATE = Target("p50: tokensmith issue ÷ validate", "<=", 3.0)
WHOAMI_VS_FLOOR = Target("whoami req/s: tokensmith ÷ floor", ">=", 0.6)


def _key(sample: dict[str, Any]) -> Key:
    return (sample["db"], sample["tokens"], sample["scenario"], sample["app"])


def summarise(samples: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per app and scenario: median req/s, p50 and p99 over the rounds, with the spread and errors."""
    groups: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for sample in samples:
        groups[_key(sample)].append(sample)
    rows = []
    for key in sorted(groups, key=_sort_key):
        group = groups[key]
        rps = [s["rps"] for s in group]
        rows.append(
            {
                "db": key[0],
                "tokens": key[1],
                "scenario": key[2],
                "app": key[3],
                "rounds": len(group),
                "rps": round(statistics.median(rps), 1),
                "rps_min": min(rps),
                "rps_max": max(rps),
                "p50_ms": round(statistics.median(s["p50_ms"] for s in group), 3),
                "p99_ms": round(statistics.median(s["p99_ms"] for s in group), 3),
                "cpu_us": round(statistics.median(s.get("cpu_us", 0.0) for s in group), 1),
                "errors": sum(s["errors"] for s in group),
                "timeouts": sum(s.get("timeouts", 0) for s in group),
                "status_errors": sum(s.get("status_errors", 0) for s in group),
            }
        )
    return rows


_APP_ORDER = {TOKENSMITH: 0, FLOOR: 1, ASYNC_FLOOR: 2, FASTAPI: 3, SIMPLEJWT: 4}
_SCENARIO_ORDER = {VALIDATE: 0, WHOAMI: 1, ISSUE: 2}


def _sort_key(key: Key) -> tuple[Any, ...]:
    return (key[0] != "sqlite", key[0], key[1], _SCENARIO_ORDER.get(key[2], 9), _APP_ORDER.get(key[3], 9))


def _by_round(samples: Iterable[dict[str, Any]], key: Key, field: str) -> dict[int, float]:
    return {s["round"]: s[field] for s in samples if _key(s) == key}


def _paired(samples: list[dict[str, Any]], top: Key, bottom: Key, field: str) -> list[float]:
    a, b = _by_round(samples, top, field), _by_round(samples, bottom, field)
    return [a[r] / b[r] for r in sorted(a) if r in b and b[r]]


def _ratio(
    samples: list[dict[str, Any]], name: str, top: Key, bottom: Key, field: str, target: Target | None
) -> dict[str, Any] | None:
    """`top ÷ bottom` of `field`, and the same ratio from server CPU per request.

    The CPU figure is what the ratio would be on an otherwise idle machine with the server saturating
    its core: req/s ∝ 1 / CPU per request, and at saturation p50 ∝ CPU per request.
    """
    per_round = _paired(samples, top, bottom, field)
    if not per_round:
        return None
    # req/s ratios: bottom's CPU ÷ top's; latency ratios: top's CPU ÷ bottom's.
    cpu = (
        _paired(samples, bottom, top, "cpu_us") if field == "rps" else _paired(samples, top, bottom, "cpu_us")
    )
    value = round(statistics.median(per_round), 3)
    cpu_value = round(statistics.median(cpu), 3) if cpu else None
    return {
        "name": name,
        "db": top[0],
        "tokens": top[1] if top[1] == bottom[1] else f"{top[1]} vs {bottom[1]}",
        "value": value,
        "per_round": [round(x, 3) for x in per_round],
        "cpu_value": cpu_value,
        "target": f"{target.op} {target.bound}" if target else None,
        "met": target.met(value) if target else None,
        "cpu_met": target.met(cpu_value) if target and cpu_value is not None else None,
    }


def ratios(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's ratios (with targets) and a few for context (without), per database and token count."""
    out: list[dict[str, Any] | None] = []
    dbs = sorted({s["db"] for s in samples}, key=lambda db: db != "sqlite")
    for db in dbs:
        counts = sorted({s["tokens"] for s in samples if s["db"] == db})
        for n in counts:

            def k(scenario: str, app: str, db: str = db, n: int = n) -> Key:
                return (db, n, scenario, app)

            ts = k(VALIDATE, TOKENSMITH)
            for target, other in ((VS_FLOOR, FLOOR), (VS_FASTAPI, FASTAPI), (VS_SIMPLEJWT, SIMPLEJWT)):
                out.append(_ratio(samples, target.name, ts, k(VALIDATE, other), "rps", target))
            out.append(
                _ratio(
                    samples,
                    ISSUE_VS_VALIDATE.name,
                    k(ISSUE, TOKENSMITH),
                    ts,
                    "p50_ms",
                    ISSUE_VS_VALIDATE,
                )
            )
            out.append(
                _ratio(
                    samples,
                    WHOAMI_VS_FLOOR.name,
                    k(WHOAMI, TOKENSMITH),
                    k(WHOAMI, FLOOR),
                    "rps",
                    WHOAMI_VS_FLOOR,
                )
            )
            out.append(
                _ratio(
                    samples,
                    "validate req/s: FastAPI twin ÷ floor",
                    k(VALIDATE, FASTAPI),
                    ts[:3] + (FLOOR,),
                    "rps",
                    None,
                )
            )
        if len(counts) >= 2:
            small, big = counts[0], counts[-1]
            for scenario, target in ((VALIDATE, BIG_VS_SMALL), (WHOAMI, None)):
                name = (
                    BIG_VS_SMALL.name.format(big=f"{big:,}", small=f"{small:,}")
                    if target
                    else f"{scenario} req/s: tokensmith at {big:,} ÷ at {small:,} tokens"
                )
                out.append(
                    _ratio(
                        samples,
                        name,
                        (db, big, scenario, TOKENSMITH),
                        (db, small, scenario, TOKENSMITH),
                        "rps",
                        target,
                    )
                )
    return [row for row in out if row is not None]


def table(summary: list[dict[str, Any]]) -> str:
    lines = [
        "| db | tokens | scenario | app | req/s | req/s min–max | p50 ms | p99 ms | CPU µs/req | errors |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in summary:
        lines.append(
            f"| {row['db']} | {row['tokens']:,} | {row['scenario']} | {row['app']} | {row['rps']:,.0f} "
            f"| {row['rps_min']:,.0f}–{row['rps_max']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
            f"| {row.get('cpu_us', 0):,.0f} | {_errors(row)} |"
        )
    return "\n".join(lines)


def ratio_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| db | tokens | ratio | measured | target | met | per round | from CPU/req | met (CPU) |",
        "|---|---|---|---:|---|---|---|---:|---|",
    ]
    for row in rows:
        tokens = f"{row['tokens']:,}" if isinstance(row["tokens"], int) else row["tokens"]
        rounds = ", ".join(f"{x:.2f}" for x in row["per_round"])
        cpu = "—" if row.get("cpu_value") is None else f"{row['cpu_value']:.2f}"
        lines.append(
            f"| {row['db']} | {tokens} | {row['name']} | {row['value']:.2f} | {row['target'] or '—'} "
            f"| {_yes(row['met'])} | {rounds} | {cpu} | {_yes(row.get('cpu_met'))} |"
        )
    return "\n".join(lines)


def _errors(row: dict[str, Any]) -> str:
    if not row["errors"]:
        return "0"
    kinds = [(row.get("timeouts", 0), "timed out"), (row.get("status_errors", 0), "non-2xx")]
    detail = ", ".join(f"{n} {label}" for n, label in kinds if n)
    return f"{row['errors']} ({detail})" if detail else str(row["errors"])


def _yes(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def save(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")


def compare(old_path: Path, new_path: Path) -> str:
    """Two runs side by side: req/s and p50 per app and scenario, and the ratios, old → new."""
    old, new = (json.loads(Path(p).read_text()) for p in (old_path, new_path))
    index = {(r["db"], r["tokens"], r["scenario"], r["app"]): r for r in old["summary"]}
    lines = [
        f"old: {old_path} ({old['git']['sha']}{'+dirty' if old['git']['dirty'] else ''})",
        f"new: {new_path} ({new['git']['sha']}{'+dirty' if new['git']['dirty'] else ''})",
        "",
        "| db | tokens | scenario | app | req/s old | req/s new | new ÷ old | p50 ms old | p50 ms new |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in new["summary"]:
        before = index.get((row["db"], row["tokens"], row["scenario"], row["app"]))
        if before is None:
            continue
        change = row["rps"] / before["rps"] if before["rps"] else float("nan")
        lines.append(
            f"| {row['db']} | {row['tokens']:,} | {row['scenario']} | {row['app']} | {before['rps']:,.0f} "
            f"| {row['rps']:,.0f} | {change:.2f} | {before['p50_ms']:.2f} | {row['p50_ms']:.2f} |"
        )
    old_ratios = {(r["db"], str(r["tokens"]), r["name"]): r for r in old["ratios"]}
    lines += ["", "| db | tokens | ratio | old | new | target |", "|---|---|---|---:|---:|---|"]
    for row in new["ratios"]:
        before = old_ratios.get((row["db"], str(row["tokens"]), row["name"]))
        old_value = f"{before['value']:.2f}" if before else "—"
        lines.append(
            f"| {row['db']} | {row['tokens']} | {row['name']} | {old_value} | {row['value']:.2f} "
            f"| {row['target'] or '—'} |"
        )
    return "\n".join(lines)
