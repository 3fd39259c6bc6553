"""Escalation rules in TOML: parsing and checking, with errors that name the rule and the line.

    [settings]
    ignore_older_than = "30d"    # posts older than this when first seen never fire

    [[rule]]
    id = "legal-threat"          # letters, digits, "-" and "_"; unique
    name = "Legal or regulator threat"
    kind = "keywords"            # keywords | personal_data | unanswered | follow_ups |
                                 # verification_rejected | manual (never fires: the SLA of
                                 # escalations raised by hand; at most one)
    severity = "high"            # low | medium | high | critical
    acknowledge_within = "2h"    # SLA: minutes (m), hours (h) or days (d)
    resolve_within = "2d"
    words = ["ombudsman", "ofcom", "solicitor", "small claims"]
    unless_before = ["not going to", "no need to"]   # same sentence, just before a match
    unless_after = ["just asking"]                    # same sentence, after a match
    min_hits = 1                 # distinct words needed (keywords)
    only_asker = true            # only posts by the thread's asker (helpers quoting "take it to
                                 # the ombudsman" as advice are not threats)
    tags = ["billing"]           # only threads with one of these tags (all rules; optional)
    hours = 48                   # unanswered: no reply after this many hours
    count = 3                    # follow_ups: this many posts by the asker in a row, no reply
    detect = ["phone", "email", "card", "iban"]       # personal_data
    hide_pending_review = true   # personal_data: hide the post until a moderator has looked
    zendesk_priority = "urgent"  # low | normal | high | urgent (default from the severity)
    ticket_tags = ["legal"]      # added to the ticket's tags

A file with a mistake raises RulesError naming the file, the rule and the line; the rules that
were active stay active (see console.escalate.active).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from console.clock import minutes_within
from console.errors import PeerdeskError
from console.escalate.severity import SEVERITIES

KINDS = (
    "keywords",
    "personal_data",
    "unanswered",
    "follow_ups",
    "verification_rejected",
    "manual",  # never fires: the SLA of escalations a moderator raises by hand
)
DETECTORS = ("phone", "email", "card", "iban")
PRIORITIES = ("low", "normal", "high", "urgent")
DEFAULT_PRIORITY = {"low": "low", "medium": "normal", "high": "high", "critical": "urgent"}
EXAMPLE_RULES = "kestrel-mobile.toml"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60}
LONGEST_MINUTES = 36500 * 24 * 60
"""The longest duration or `hours` a rule may give, 100 years: SLA clocks and scans turn them
into dates, and one far beyond that is no date (every scan and dry run failed on it)."""
_KNOWN_KEYS = frozenset(
    {
        "id",
        "name",
        "kind",
        "severity",
        "acknowledge_within",
        "resolve_within",
        "words",
        "unless_before",
        "unless_after",
        "min_hits",
        "tags",
        "hours",
        "count",
        "detect",
        "hide_pending_review",
        "zendesk_priority",
        "ticket_tags",
        "enabled",
        "only_asker",
    }
)


class RulesError(PeerdeskError):
    """A rule file cannot be used; the message names the file, the rule and the line."""


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    kind: str
    severity: str
    acknowledge_minutes: int
    resolve_minutes: int
    words: tuple[str, ...] = ()
    unless_before: tuple[str, ...] = ()
    unless_after: tuple[str, ...] = ()
    min_hits: int = 1
    tags: tuple[str, ...] = ()
    hours: float = 0.0
    count: int = 0
    detect: tuple[str, ...] = ()
    hide_pending_review: bool = False
    only_asker: bool = False
    zendesk_priority: str = "normal"
    ticket_tags: tuple[str, ...] = ()
    line: int = 0

    @property
    def on_posts(self) -> bool:
        """Rules that look at each post's text as it arrives."""
        return self.kind in ("keywords", "personal_data")


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    ignore_older_than_minutes: int = 30 * 24 * 60
    origin: str = ""
    text: str = field(default="", repr=False)

    def by_id(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def parse_duration(text: object) -> int:
    """'90m', '4h', '2d' -> minutes (ValueError with a readable message otherwise)."""
    minutes: int | None
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        minutes = text * 60 if text * 60 <= LONGEST_MINUTES else None  # a bare number is hours
    elif not isinstance(text, str):
        raise ValueError(f"expected a duration like '4h', got {text!r}")
    elif (match := _DURATION.match(text)) and match.group(1).strip("0"):
        minutes = minutes_within(match.group(1), _UNIT_MINUTES[match.group(2)], LONGEST_MINUTES)
    else:
        raise ValueError(f"expected a duration like '90m', '4h' or '2d', got {text!r}")
    if minutes is None:
        raise ValueError(f"at most {LONGEST_MINUTES // _UNIT_MINUTES['d']}d (100 years)")
    return minutes


def format_minutes(minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _rule_lines(text: str) -> list[tuple[int, dict[str, int]]]:
    """For each [[rule]] table in order: its header line and the line of each of its keys."""
    blocks: list[tuple[int, dict[str, int]]] = []
    current: dict[str, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            if re.match(r"^\[\[\s*rule\s*\]\]", stripped):
                current = {}
                blocks.append((number, current))
            else:
                current = None
            continue
        if current is not None:
            key = re.match(r'^"?([A-Za-z0-9_-]+)"?\s*=', stripped)
            if key and key.group(1) not in current:
                current[key.group(1)] = number
    return blocks


def _rule_at(text: str, line: int) -> str | None:
    """The id of the [[rule]] table that holds `line` (for syntax errors), if any."""
    lines = text.splitlines()
    starts = [number for number, _ in _rule_lines(text) if number <= line]
    if not starts:
        return None
    for raw in lines[starts[-1] : line]:
        found = re.match(r'^\s*id\s*=\s*"([^"]*)"', raw)
        if found:
            return found.group(1)
    return f"#{len(starts)}"


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key} must be a list of non-empty texts")
    return tuple(v.strip() for v in value)


def _one_rule(raw: dict[str, Any]) -> tuple[Rule, str | None]:
    """(rule, None) or raises (ValueError, key) through _Bad."""

    def need(key: str) -> Any:
        if key not in raw:
            raise _Bad(key, f"'{key}' is missing")
        return raw[key]

    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise _Bad(unknown[0], f"unknown setting '{unknown[0]}'")
    rule_id = need("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise _Bad("id", "id must be letters, digits, '-' or '_' (at most 64)")
    kind = need("kind")
    if kind not in KINDS:
        raise _Bad("kind", f"kind must be one of {', '.join(KINDS)} (got {kind!r})")
    severity = need("severity")
    if severity not in SEVERITIES:
        raise _Bad(
            "severity", f"severity must be one of {', '.join(SEVERITIES)} (got {severity!r})"
        )
    values: dict[str, Any] = {}
    for key in ("acknowledge_within", "resolve_within"):
        try:
            values[key] = parse_duration(need(key))
        except ValueError as error:
            raise _Bad(key, f"{key}: {error}") from None
    if values["acknowledge_within"] > values["resolve_within"]:
        raise _Bad("acknowledge_within", "acknowledge_within is longer than resolve_within")
    name = raw.get("name", rule_id)
    if not isinstance(name, str) or not name.strip():
        raise _Bad("name", "name must be a non-empty text")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("words", "unless_before", "unless_after", "tags", "detect", "ticket_tags"):
        if key in raw:
            try:
                lists[key] = _strings(raw[key], key)
            except ValueError as error:
                raise _Bad(key, str(error)) from None
    min_hits = raw.get("min_hits", 1)
    if not isinstance(min_hits, int) or isinstance(min_hits, bool) or min_hits < 1:
        raise _Bad("min_hits", "min_hits must be a whole number of 1 or more")
    hours = raw.get("hours", 0)
    count = raw.get("count", 0)
    hide = raw.get("hide_pending_review", False)
    if not isinstance(hide, bool):
        raise _Bad("hide_pending_review", "hide_pending_review must be true or false")
    only_asker = raw.get("only_asker", False)
    if not isinstance(only_asker, bool):
        raise _Bad("only_asker", "only_asker must be true or false")
    if kind == "keywords":
        if not lists.get("words"):
            raise _Bad("words", "a keywords rule needs words = [...]")
        if min_hits > len(lists["words"]):
            raise _Bad("min_hits", "min_hits is more than the number of words")
    if kind == "personal_data":
        detect = lists.get("detect", DETECTORS)
        bad = [d for d in detect if d not in DETECTORS]
        if bad:
            raise _Bad("detect", f"unknown detector {bad[0]!r} (known: {', '.join(DETECTORS)})")
        lists["detect"] = detect
    elif hide:
        raise _Bad("hide_pending_review", "hide_pending_review is for personal_data rules only")
    if kind == "unanswered" and (
        not isinstance(hours, int | float)
        or isinstance(hours, bool)
        or not 0 < hours <= LONGEST_MINUTES / 60  # False for nan; inf is more
    ):
        raise _Bad("hours", "an unanswered rule needs hours = a number above 0 (100 years at most)")
    if kind == "follow_ups" and (
        not isinstance(count, int) or isinstance(count, bool) or count < 2
    ):
        raise _Bad("count", "a follow_ups rule needs count = a whole number of 2 or more")
    priority = raw.get("zendesk_priority", DEFAULT_PRIORITY[severity])
    if priority not in PRIORITIES:
        raise _Bad("zendesk_priority", f"zendesk_priority must be one of {', '.join(PRIORITIES)}")
    rule = Rule(
        id=rule_id,
        name=name.strip(),
        kind=kind,
        severity=severity,
        acknowledge_minutes=values["acknowledge_within"],
        resolve_minutes=values["resolve_within"],
        words=lists.get("words", ()),
        unless_before=lists.get("unless_before", ()),
        unless_after=lists.get("unless_after", ()),
        min_hits=min_hits,
        tags=tuple(t.lower() for t in lists.get("tags", ())),
        hours=float(hours or 0),
        count=int(count or 0),
        detect=lists.get("detect", ()),
        hide_pending_review=hide,
        only_asker=only_asker,
        zendesk_priority=priority,
        ticket_tags=lists.get("ticket_tags", ()),
    )
    return rule, None


class _Bad(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def parse_rules(text: str, origin: str = "rules") -> RuleSet:
    """Check a whole rule file; RulesError names `origin`, the rule and the line of a mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        where = f" line {found.group(1)}" if found else ""
        if found:
            label = _rule_at(text, int(found.group(1)))
            where += f", rule {label!r}" if label else ""
        raise RulesError(f"{origin}{where}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"rule", "settings"})
    if unknown:
        raise RulesError(
            f"{origin}: unknown section [{unknown[0]}] (expected [[rule]], [settings])"
        )
    settings = data.get("settings", {})
    ignore = 30 * 24 * 60
    if not isinstance(settings, dict):
        raise RulesError(f"{origin}: [settings] must be a table")
    if "ignore_older_than" in settings:
        try:
            ignore = parse_duration(settings["ignore_older_than"])
        except ValueError as error:
            raise RulesError(f"{origin}: settings.ignore_older_than: {error}") from None
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RulesError(f"{origin}: no rules: add at least one [[rule]] table")
    lines = _rule_lines(text)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        header, keys = lines[index] if index < len(lines) else (0, {})
        label = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index + 1}"
        if raw.get("enabled", True) is False:
            continue
        try:
            rule, _ = _one_rule(raw)
        except _Bad as bad:
            line = keys.get(bad.key, header)
            raise RulesError(f"{origin} line {line}, rule {label!r}: {bad.message}") from None
        if rule.id in seen:
            raise RulesError(
                f"{origin} line {keys.get('id', header)}, rule {rule.id!r}: the id is already "
                f"used by the rule at line {seen[rule.id]}"
            )
        manual = next((r for r in rules if r.kind == "manual"), None)
        if rule.kind == "manual" and manual is not None:
            raise RulesError(
                f"{origin} line {keys.get('kind', header)}, rule {rule.id!r}: only one manual "
                f"rule may set the SLA of escalations raised by hand (rule {manual.id!r} does)"
            )
        seen[rule.id] = header
        rules.append(Rule(**{**rule.__dict__, "line": header}))
    return RuleSet(tuple(rules), ignore, origin, text)


def example_text() -> str:
    """The shipped example rule set (a UK mobile network), as text."""
    return resources.files("console.escalate").joinpath(EXAMPLE_RULES).read_text("utf-8")


def example_rules() -> RuleSet:
    return parse_rules(example_text(), f"(shipped example) {EXAMPLE_RULES}")
