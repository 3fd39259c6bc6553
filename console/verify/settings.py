"""Verification settings: the `[verify]` table of the config file.

    [verify]
    calibration_share = 0.05       # share of decisions re-queued blind to a second moderator
    payout_minor = 500             # reward at stake per verified answer of a member, in minor
                                   # units (pence); above 0 such verifications need four-eyes
    official_domains = ["help.example.com"]   # links here count as official help pages

    [verify.points]                # override a signal's points (see console/verify/signals.py)
    asks_question = -15

A mistake names the file and line; the caller keeps the last good settings (`load` returns them
with the problem), so a typo in the points never turns every score into nonsense.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.verify.signals import WEIGHTS


@dataclass(frozen=True)
class VerifySettings:
    calibration_share: float = 0.05
    payout_minor: int = 0
    official_domains: tuple[str, ...] = ()
    points: dict[str, int] = field(default_factory=lambda: dict(WEIGHTS))
    problem: str | None = None  # what was wrong with the file; these settings are the last good

    def to_json(self) -> str:
        return json.dumps(
            {
                "calibration_share": self.calibration_share,
                "payout_minor": self.payout_minor,
                "official_domains": list(self.official_domains),
                "points": self.points,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> VerifySettings | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                calibration_share=float(data["calibration_share"]),
                payout_minor=int(data["payout_minor"]),
                official_domains=tuple(str(d) for d in data["official_domains"]),
                points={**WEIGHTS, **{str(k): int(v) for k, v in data["points"].items()}},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


class SettingsProblem(ValueError):
    pass


def _line_of(text: str, key: str) -> int:
    match = re.search(rf'^\s*"?{re.escape(key)}"?\s*=', text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def parse(text: str, where: str) -> VerifySettings:
    """The settings in `text` (a whole config file); SettingsProblem names the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        line = f" line {found.group(1)}" if found else ""
        raise SettingsProblem(f"{where}{line} is not valid TOML: {error}") from error
    table: Any = data.get("verify", {})
    if not isinstance(table, dict):
        raise SettingsProblem(f"{where} line {_line_of(text, 'verify')}: [verify] must be a table")

    def bad(key: str, what: str) -> SettingsProblem:
        return SettingsProblem(f"{where} line {_line_of(text, key)}: {key} {what}")

    share = table.get("calibration_share", 0.05)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise bad("calibration_share", "must be a number from 0 to 1")
    payout = table.get("payout_minor", 0)
    if isinstance(payout, bool) or not isinstance(payout, int) or payout < 0:
        raise bad("payout_minor", "must be a whole number of minor units (pence), 0 or more")
    domains = table.get("official_domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and d for d in domains):
        raise bad("official_domains", "must be a list of domain names")
    points = dict(WEIGHTS)
    overrides = table.get("points", {})
    if not isinstance(overrides, dict):
        raise bad("points", "must be a table of signal = points")
    for name, value in overrides.items():
        if name not in WEIGHTS:
            known = ", ".join(sorted(WEIGHTS))
            raise bad(name, f"is not a signal (known: {known})")
        if isinstance(value, bool) or not isinstance(value, int) or not -100 <= value <= 100:
            raise bad(name, "must be whole points from -100 to 100")
        points[name] = value
    return VerifySettings(
        calibration_share=float(share),
        payout_minor=payout,
        official_domains=tuple(d.lower() for d in domains),
        points=points,
    )


def load(path: Path | None, last_good: VerifySettings | None = None) -> VerifySettings:
    """Settings from the config file at `path`; on a mistake, `last_good` with the problem."""
    if path is None:
        return last_good or VerifySettings()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return VerifySettings()
    except (OSError, UnicodeDecodeError) as error:
        return _keep(last_good, f"cannot read {path}: {error}")
    try:
        return parse(text, f"The config {path}")
    except SettingsProblem as error:
        return _keep(last_good, str(error))


def _keep(last_good: VerifySettings | None, problem: str) -> VerifySettings:
    base = last_good or VerifySettings()
    return VerifySettings(
        base.calibration_share,
        base.payout_minor,
        base.official_domains,
        base.points,
        problem=f"{problem} (the last good verification settings are in use)",
    )
