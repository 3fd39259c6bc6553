"""The rule set in force for a cache: kept in the cache itself (meta `escalation_rules`), so every
process sharing the file applies the same rules, and a file with a mistake never replaces it.

With no rules installed, the shipped example set is in force.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from console.db import Cache
from console.escalate.detect import PostMatcher
from console.escalate.rules import RulesError, RuleSet, example_rules, parse_rules
from console.files import read_given_text
from console.storage import Connection

META_TEXT = "escalation_rules"
META_ORIGIN = "escalation_rules_origin"

_parsed: dict[str, tuple[RuleSet, PostMatcher]] = {}


def _compiled(text: str | None, origin: str) -> tuple[RuleSet, PostMatcher]:
    key = hashlib.sha256((text or "").encode()).hexdigest()
    found = _parsed.get(key)
    if found is None:
        rules = parse_rules(text, origin) if text else example_rules()
        found = (rules, PostMatcher(rules.rules))
        _parsed[key] = found
    return found


def current(cache: Cache) -> RuleSet:
    return compiled(cache)[0]


def compiled(cache: Cache) -> tuple[RuleSet, PostMatcher]:
    """The rules in force and their compiled post matcher (parsed once per process)."""
    return _in_force(cache.meta(META_TEXT), cache.meta(META_ORIGIN))


def current_in(conn: Connection) -> RuleSet:
    """The rules in force, read inside the caller's transaction."""
    stored = {
        str(row[0]): row[1]
        for row in conn.execute(
            "SELECT key, value FROM meta WHERE key IN (?, ?)", (META_TEXT, META_ORIGIN)
        )
    }
    return _in_force(stored.get(META_TEXT), stored.get(META_ORIGIN))[0]


def _in_force(text: str | None, origin: str | None) -> tuple[RuleSet, PostMatcher]:
    try:
        return _compiled(text, origin or "installed rules")
    except RulesError:
        # only possible if the stored text was edited by hand: fall back to the example
        return _compiled(None, "")


def read_rules_file(path: Path) -> RuleSet:
    try:
        text = read_given_text(path)
    except (OSError, UnicodeDecodeError) as error:
        raise RulesError(f"Cannot read the rule file {path}: {error}") from error
    return parse_rules(text, str(path))


def install(cache: Cache, path: Path) -> RuleSet:
    """Check the file and make it the rule set in force; on any mistake, nothing changes."""
    rules = read_rules_file(path)
    with cache.transaction() as conn:
        install_in(conn, rules)
    return rules


def install_in(conn: Connection, rules: RuleSet) -> None:
    """Make the checked `rules` the set in force, inside the caller's write transaction (the
    door's: `Desk.escalations.install_rules` audits it). On the team database the server lets
    only the roles of the `escalation_rules` action write them (console/team/grants.sql)."""
    for key, value in ((META_TEXT, rules.text), (META_ORIGIN, rules.origin)):
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def compile_set(rules: RuleSet) -> PostMatcher:
    return PostMatcher(rules.rules)
