"""Every module that registers decision kinds or role actions when imported is one the lazy
loader knows (console.registrations), so a kind or an action is never "unknown" only because
its module was not imported yet."""

from __future__ import annotations

import ast
from pathlib import Path

from console.registrations import PROVIDERS

CONSOLE = Path(__file__).resolve().parents[1] / "console"
# the registries themselves; and the team store's modules (console.team.*): their actions are
# checked only by the team commands, which import them, and importing them brings the PostgreSQL
# driver
NOT_PROVIDERS = {"console.decisions", "console.roles"}
TEAM = "console.team."


def _registers(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name == "register_action":
            return True
        if name == "register" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Call):
                made = arg.func
                kind = made.id if isinstance(made, ast.Name) else getattr(made, "attr", "")
                if kind == "Kind":
                    return True
        owner = func.value if isinstance(func, ast.Attribute) else None
        if isinstance(owner, ast.Name) and owner.id == "decisions" and name == "register":
            return True
    return False


def registering_modules() -> set[str]:
    found = set()
    for path in CONSOLE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _registers(tree):
            parts = path.relative_to(CONSOLE.parent).with_suffix("").parts
            found.add(".".join(parts))
    return found


def test_every_registering_module_is_a_provider() -> None:
    found = registering_modules()
    assert {"console.verify.actions", "console.escalate.actions", "console.dupes.actions"} <= found
    providers = {m for m in found - NOT_PROVIDERS if not m.startswith(TEAM)}
    assert providers == set(PROVIDERS)
