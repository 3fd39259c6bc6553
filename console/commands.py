"""Command palette providers: the palette finds every action of the screen it was opened on.

`KeyActions` lists each binding active on that screen (focused widget, screen, app) by its
description, so every action with a key is found by name too; `QueueFilters` offers the Queue's
filters. App-wide commands (help, panels) come from `PeerdeskApp.get_system_commands`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


@dataclass(frozen=True)
class Action:
    title: str
    key: str
    run: Callable[[], object]


class KeyActions(Provider):
    """Every action bound to a key where the palette was opened."""

    def _actions(self) -> Iterator[Action]:
        seen: set[tuple[int, str]] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            slot = (id(active.node), binding.action)
            if not active.enabled or not binding.description or slot in seen:
                continue
            if binding.action in ("command_palette",):
                continue
            seen.add(slot)
            yield Action(
                binding.tooltip or binding.description,
                self.app.get_key_display(binding),
                partial(self._run, active.node, binding.action),
            )

    async def _run(self, node: DOMNode, action: str) -> None:
        await self.app.run_action(action, node)

    async def discover(self) -> Hits:
        for action in self._actions():
            yield DiscoveryHit(Text(action.title), action.run, help=f"key: {action.key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in self._actions():
            score = matcher.match(action.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(action.title),
                    action.run,
                    help=f"key: {action.key}",
                )


class QueueFilters(Provider):
    """The Queue's filters and saved views by name ("Filter: flagged")."""

    def _filters(self) -> list[tuple[str, Callable[[], object]]]:
        from console.screens.queue import QueueScreen

        screen = self.screen
        if not isinstance(screen, QueueScreen):
            return []
        return [
            (f"Filter: {name}", partial(screen.set_filter, name)) for name in screen.filter_names()
        ]

    async def discover(self) -> Hits:
        for title, run in self._filters():
            yield DiscoveryHit(Text(title), run, help="show only these in the Queue (key f)")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, run in self._filters():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help="key f cycles filters")
