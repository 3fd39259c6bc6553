"""PeerdeskApp: composes the panels and routes between them; the screens do the work.

Adding a panel is one line in PANELS (it becomes a key and a palette command).

The Queue is the app's one mode. A panel is a screen of its own, installed on its first visit and
kept: its key shows it over what the moderator works on (the Queue, or a thread opened from it),
and escape pops it. A kept screen that is popped back to is neither laid out nor restyled again
by Textual, where a mode switch does both for the whole screen on every switch (the Queue's and
each panel's escape cost that before).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.driver import Driver
from textual.filter import LineFilter
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from console import quiet_start
from console.clock import now
from console.commands import KeyActions, QueueFilters
from console.desk import Desk
from console.errors import PeerdeskError
from console.messages import OutboxStatus, RefreshRequested, Said
from console.outbox_line import outbox_text
from console.responsive import QuietCollector, short_thread_turns
from console.screens import later_styles, too_small
from console.screens.keys import bindings, user_keymap
from console.team.location import is_team_url
from console.words import counted
from widgets.colours import SixteenColours, few_colours
from widgets.message_log import MessageLog

if TYPE_CHECKING:
    from console.search_index import Backlog
    from console.team.notify import Subscription

T = TypeVar("T")

REFRESH_SECONDS = 30.0
SEARCH_CATCH_UP_TRIES = 12  # the catch-up waits for a busy cache up to a minute
SEARCH_RETRY_SECONDS = 5.0
SEARCH_PROGRESS_EVERY = 5.0  # seconds between "search index catching up" lines on the status line
# Imported after the first rows are drawn, not before: what the first `enter` needs (the Thread
# screen, the duplicate candidates with their scorer and numpy: ~0.2 s), so the first frame does
# not wait for them and the first thread opened does not either.
WARM_UP_AFTER = 0.3  # seconds after the first Queue rows
QUIET_GC_TICK = 0.5  # seconds between looks for a quiet moment to collect garbage in
OUTBOX_AT_THE_LATEST = 1.0  # seconds: the header's outbox state waits for the first rows till then
WARM_MODULES = ("console.screens.thread", "console.dupes.candidates")


def import_screens() -> list[type[Screen[Any]]]:
    """What the first `enter`, panel visit and `?` need, imported (the warm-up's first part):
    their stylesheets are read next, on the UI thread (console.screens.later_styles)."""
    for name in WARM_MODULES:
        import_module(name)
    return later_styles.import_screens([p.screen for p in PANELS[1:]] + [later_styles.HELP])


def import_later() -> None:
    # onnxruntime, usearch, tokenizers: the first duplicate search's 0.6-2.6 s, paid here
    import_module("console.dupes.warm").libraries()


@dataclass(frozen=True)
class Panel:
    name: str
    key: str
    title: str
    screen: str  # "module:Class", imported when first shown

    def make(self) -> Screen[object]:
        module, _, cls = self.screen.partition(":")
        return getattr(import_module(module), cls)()  # type: ignore[no-any-return]


PANELS: tuple[Panel, ...] = (
    Panel("queue", "1", "Queue", "console.screens.queue:QueueScreen"),
    Panel("duplicates", "D", "Duplicates", "console.screens.duplicates:DuplicatesScreen"),
    Panel("sync", "Y", "Sync", "console.screens.sync:SyncScreen"),
    Panel("escalations", "E", "Escalations", "console.screens.escalations:EscalationsScreen"),
    Panel("verification", "V", "Verification", "console.screens.verification:VerificationScreen"),
    Panel("rewards", "dollar_sign", "Rewards", "console.screens.rewards:RewardsScreen"),
    Panel("audit", "W", "Audit", "console.screens.audit:AuditScreen"),
)


def terminal_driver() -> type[Driver] | None:
    """Textual's terminal driver with a prompt escape key (console.terminal), where it applies:
    not on Windows, and not when TEXTUAL_DRIVER picks another driver."""
    if sys.platform == "win32" or os.environ.get("TEXTUAL_DRIVER"):
        return None
    from console.terminal import PromptEscapeDriver, shorten_escape_delay

    shorten_escape_delay()
    return PromptEscapeDriver


class PeerdeskApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "peerdesk"
    COMMANDS = App.COMMANDS | {KeyActions, QueueFilters}
    MODES: ClassVar[dict[str, Callable[[], Screen[object]]]] = {  # type: ignore[assignment]
        PANELS[0].name: PANELS[0].make
    }
    BINDINGS: ClassVar[list[BindingType]] = bindings("app", "panel")

    # `var`, not `reactive`: a change repaints only the bars that watch it (widgets.title_bar,
    # widgets.status_bar), where an App's `reactive` repaints the whole screen (every result said
    # after `c`, `x` or `u` cost a full repaint before its line was drawn)
    status_line: var[str] = var("")
    """The outbox state, shown at the right of every screen's title bar."""
    status_warning: var[bool] = var(False)
    said: var[str] = var("", always_update=True)
    """The last result or error, shown in every screen's status line (widgets.status_bar)."""
    said_severity: var[str] = var("information")

    def __init__(
        self,
        desk: Desk,
        *,
        theme: str | None = None,
        first_page: quiet_start.FirstPage | None = None,
    ) -> None:
        super().__init__(driver_class=terminal_driver())
        self.desk = desk
        # the first page read before the app (console.quiet_start) holds this lock while it reads
        self.desk_lock = first_page.lock if first_page is not None else threading.Lock()
        self.first_page = first_page
        """The Queue's first page, read while Textual was imported (the CLI starts it)."""
        self._ready_marker = os.environ.get("PEERDESK_BENCH_READY")
        self._times = {"app_init": time.time()}
        self._wanted_theme = theme or os.environ.get("PEERDESK_THEME")
        # In a 16-colour terminal every colour is drawn as the one the terminal will show.
        self._sixteen = SixteenColours(enabled=few_colours(self.console.color_system))
        self.message_log = MessageLog()
        self.unsaved_notes: dict[int, str] = {}  # thread -> a note the cache refused
        self.quiet_gc = QuietCollector()  # full collections between keys (console.responsive)
        self.user_keys = user_keymap(desk.config)  # the config's [keys]; ConfigError if wrong
        self.set_keymap(self.user_keys)

    # ---- panels: shown over the Queue (or a thread), popped by escape ----
    def action_panel(self, name: str) -> None:
        self.show_panel(name)

    def show_panel(self, name: str, about: Hashable | None = None) -> None:
        """Show the panel `name` ("queue": back to the Queue, or the thread opened from it),
        with its cursor on `about` if given (PanelScreen.land_on).

        Another panel shown gives way to it (escape goes back to where the moderator was
        working, never to a panel); a panel already in the stack (a thread opened from it is on
        top) is popped back to. The first visit composes the panel behind Textual's 50 ms mask,
        as a mode switch does; later visits are drawn at once."""
        stack = self.screen_stack
        panel_of = {id(self.get_screen(p.name)) for p in PANELS[1:] if self._installed(p.name)}
        lowest = next((i for i, s in enumerate(stack) if id(s) in panel_of), None)
        if name == PANELS[0].name:
            if lowest is not None:
                self._pop_to(stack[lowest - 1])
            return
        if not self._installed(name):
            self.install_screen(self._panel(name).make(), name)
            self.delay_update()  # the first visit is composed behind Textual's mask
        screen = self.get_screen(name)
        if about is not None:
            from console.screens.panel import PanelScreen  # loaded with the panel shown

            if isinstance(screen, PanelScreen):
                screen.land_on(about)  # before it reads its list (on mount, or on resume)
        if screen in stack:
            self._pop_to(screen)
            return
        if lowest is not None:
            self._pop_to(stack[lowest - 1])
        self.push_screen(name)

    def _installed(self, name: str) -> bool:
        return self.is_screen_installed(name)

    @staticmethod
    def _panel(name: str) -> Panel:
        return next(panel for panel in PANELS if panel.name == name)

    def _pop_to(self, screen: Screen[object]) -> None:
        """Pop every screen above `screen`."""
        while len(self.screen_stack) > 1 and self.screen is not screen:
            self.pop_screen()

    # ---- the Desk, one thread at a time ----
    def call_desk(self, fn: Callable[[Desk], T]) -> T:
        """Run `fn(desk)` holding the lock that serialises use of the SQLite connection."""
        with self.desk_lock:
            return fn(self.desk)

    # ---- start ----
    def on_mount(self) -> None:
        self._times["app_mounted"] = time.time()
        short_thread_turns()  # the frame writer waits less for workers (console.responsive)
        if self._wanted_theme:
            self.theme = self._wanted_theme
        elif few_colours(self.console.color_system):
            self.theme = "ansi-dark"
        self.sub_title = self.desk.role_notice
        self.switch_mode(PANELS[0].name)
        self.call_after_refresh(lambda: too_small.fit(self, self.size))
        self.set_timer(OUTBOX_AT_THE_LATEST, self._outbox_if_not_yet)  # e.g. the Queue failed
        self.set_interval(REFRESH_SECONDS, self._periodic_refresh)
        self._listen_to_team()

    # ---- below 80x24, one notice over every screen (console.screens.too_small) ----
    def on_resize(self, event: events.Resize) -> None:
        too_small.fit(self, event.size)  # (this runs before Textual's own handler sets app.size)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if too_small.blocks(self, action):
            return False
        return super().check_action(action, parameters)

    def first_rows_shown(self) -> None:
        """The Queue shows its first rows (the benchmark's 'interactive' moment). What follows
        them waits until Textual's writer thread has put them on the terminal (quiet_start)."""
        if self._ready_marker:
            # cpu_s: the process's CPU time so far (what a busy machine inflates least)
            times = {**self._times, "first_rows": time.time(), "cpu_s": time.process_time()}
            Path(self._ready_marker).write_text(json.dumps(times), encoding="utf-8")
        if not self._warmed:
            self._warmed = True
            self.set_timer(quiet_start.FIRST_FRAME_WRITTEN, self._after_first_rows)

    def _after_first_rows(self) -> None:
        quiet_start.resume()  # Python collects garbage again (paused by the CLI for the start)
        # the header's outbox state after the first rows: its worker would hold the Desk's
        # connection (and import the sync layer) while the Queue waits for its first page
        self.refresh_outbox()
        self.set_timer(WARM_UP_AFTER, self._warm_up)
        self.catch_up_search()
        self.catch_up_duplicates()

    _warmed = False
    later_screens_ready = False
    """The panels' and `?`'s modules are imported and their stylesheets read (the warm-up)."""

    def _outbox_if_not_yet(self) -> None:
        if not self._warmed:
            quiet_start.resume()  # no first rows (the Queue failed): not paused any longer
            self.refresh_outbox()

    def _warm_up(self) -> None:
        self.run_worker(import_screens, thread=True, group="warm-screens", exit_on_error=False)

    def _screens_warmed(self, screens: list[type[Screen[Any]]]) -> None:
        """The panels' and `?`'s modules are imported: their stylesheets read now, between keys
        (a first visit read them and restyled every screen on its key), then the rest."""
        later_styles.read_styles(self, screens)
        self.later_screens_ready = True
        self.run_worker(import_later, thread=True, group="warm-up", exit_on_error=False)

    def _warmed_up(self) -> None:
        """Everything the console needs is imported and its first screen is up: what exists now
        lives as long as the console, so Python's collector stops walking it (`gc.freeze`).
        Its full collections walked every module, widget and cached row: 70-300 ms pauses of
        the UI thread at a million threads, a key now and then waiting for one. The full
        collections of what is made after it run between keys (console.responsive)."""
        gc.freeze()
        self.quiet_gc.start()
        self.set_interval(QUIET_GC_TICK, self.quiet_gc.tick)
        self.run_worker(
            self._read_graphs_ahead, thread=True, group="warm-graph", exit_on_error=False
        )

    def _read_graphs_ahead(self) -> None:
        """The cache's saved graphs read into the OS's page cache, so the first duplicate search
        on a cold cache does not read them (console.dupes.warm.read_graphs_ahead)."""
        files = self.call_desk(lambda desk: desk.saved_graph_files())
        import_module("console.dupes.warm").read_graphs_ahead(files)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.quiet_gc.input_seen()
        await super().on_event(event)

    def _periodic_refresh(self) -> None:
        self.screen.post_message(RefreshRequested())
        self.refresh_outbox()

    # ---- what an import left for the search index (console.search_index) ----
    @work(thread=True, exclusive=True, exit_on_error=False, group="search-index")
    def catch_up_search(self) -> None:
        """Index posts stored but not searchable yet (an import killed before its catch-up, or
        one running in another process), saying so on the status line until it is done."""
        from textual.worker import get_current_worker

        waiting = self.call_desk(lambda desk: desk.search_backlog())
        if waiting.empty:
            return
        self.notify(waiting.describe(), severity="warning")
        worker = get_current_worker()
        said = [time.monotonic()]

        def progress(_done: object, left: Backlog) -> None:
            if time.monotonic() - said[0] >= SEARCH_PROGRESS_EVERY and not left.empty:
                said[0] = time.monotonic()
                self.notify(left.describe(), severity="warning")

        for attempt in range(SEARCH_CATCH_UP_TRIES):
            try:
                done = self.desk.catch_up_search(progress, should_stop=lambda: worker.is_cancelled)
                break
            except PeerdeskError as error:  # e.g. an import in another process holds the cache
                if attempt + 1 == SEARCH_CATCH_UP_TRIES:
                    left = self.call_desk(lambda desk: desk.search_backlog())
                    self.notify(f"{left.describe()} ({error})", severity="warning")
                    return
                waited = time.monotonic() + SEARCH_RETRY_SECONDS
                while time.monotonic() < waited:  # leaving at once when the console closes
                    if worker.is_cancelled:
                        return
                    time.sleep(0.05)
        if not worker.is_cancelled:
            self.notify(done.describe())
            self.call_from_thread(self._periodic_refresh)  # a search on screen finds them now

    # ---- what an import left for the duplicate candidates (console.dupes.refresh) ----
    @work(thread=True, exclusive=True, exit_on_error=False, group="dupes-backlog")
    def catch_up_duplicates(self) -> None:
        """Embed and compute the candidates an import queued (when its background process was
        killed, or never ran), saying so on the status line until they are up to date."""
        from textual.worker import get_current_worker

        waiting = self.call_desk(lambda desk: desk.duplicate_backlog())
        if waiting.empty:
            return
        self.notify(waiting.describe(), severity="warning")
        worker = get_current_worker()
        said = [time.monotonic()]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - said[0] >= SEARCH_PROGRESS_EVERY and done < total:
                said[0] = time.monotonic()
                left = self.call_desk(lambda desk: desk.duplicate_backlog())
                self.notify(left.describe(), severity="warning")

        try:
            done = self.desk.catch_up_duplicate_backlog(
                progress, should_stop=lambda: worker.is_cancelled
            )
        except PeerdeskError as error:  # e.g. a busy or read-only cache: the rows stay queued
            left = self.call_desk(lambda desk: desk.duplicate_backlog())
            self.notify(f"{left.describe()} ({error})", severity="warning")
            return
        if done.skipped or done.stopped or worker.is_cancelled:
            return  # another process is on it (its rows say how far it is), or we are closing
        computed = counted(done.refreshed, "thread")
        self.notify(f"duplicate candidates up to date ({computed} computed)")
        self.call_from_thread(self._periodic_refresh)

    # ---- a team database tells the console about claims and decisions at once ----
    _team_events: Subscription | None = None

    def _listen_to_team(self) -> None:
        """On a team database (PostgreSQL), reload as soon as anyone claims or decides
        (LISTEN/NOTIFY, console/team/notify.py) instead of at the next periodic refresh.
        Nothing on a SQLite cache (and nothing of psycopg is imported then)."""
        location = str(getattr(self.desk.cache, "url", "") or self.desk.cache.path)
        if not is_team_url(location):
            return
        from console.team.notify import sessions_of, subscribe

        # its claims, decisions, pushes and scans (on its workers' connections too): on screen
        own = sessions_of(self.desk.cache)
        self._team_events = subscribe(
            location,
            lambda _events: self.call_from_thread(self._periodic_refresh),
            lambda text: self.notify(text, severity="warning"),
            own=own,
        )

    def on_unmount(self) -> None:
        if self._team_events is not None:
            self._team_events.close()

    # ---- header: role and outbox ----
    def refresh_outbox(self) -> None:
        self.load_outbox_status()

    @work(thread=True, exclusive=True, exit_on_error=False, group="status")
    def load_outbox_status(self) -> None:
        text, warning = self.call_desk(outbox_text)
        self.post_message(OutboxStatus(text, warning))

    @on(OutboxStatus)
    def _on_outbox_status(self, message: OutboxStatus) -> None:
        self.status_line = message.text
        self.status_warning = message.warning

    # ---- results: the status line and the log; toasts only for errors ----
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every screen's `notify` ends here (thread-safe): the text goes to the status line
        and the log (`L`); only an error also pops up, because it needs attention."""
        self.post_message(Said(message, severity, title))
        if severity == "error":
            super().notify(
                message,
                title=title,
                severity="error",
                timeout=timeout,
                markup=markup,
            )

    @on(Said)
    def _on_said(self, message: Said) -> None:
        severity = message.severity if message.severity in ("warning", "error") else "information"
        text = f"{message.title}: {message.text}" if severity == "error" else message.text
        self.message_log.add(now(), text, severity)  # type: ignore[arg-type]
        self.said_severity = severity
        self.said = text

    def action_message_log(self) -> None:
        from console.screens.message_log import MessageLogScreen

        if not isinstance(self.screen, MessageLogScreen):
            self.push_screen(MessageLogScreen(self.message_log.newest_first()))

    # ---- the one place worker failures end up ----
    @on(Worker.StateChanged)
    def _on_worker_state(self, event: Worker.StateChanged) -> None:
        """The app's own workers; screens forward theirs to `worker_failed` (it does not bubble)."""
        if event.state == WorkerState.ERROR:
            self.worker_failed(event.worker)
        elif event.state == WorkerState.SUCCESS and event.worker.group == "warm-up":
            self._warmed_up()
        elif event.state == WorkerState.SUCCESS and event.worker.group == "warm-screens":
            self._screens_warmed(event.worker.result)

    def worker_failed(self, worker: Worker[object]) -> str:
        """Tell the moderator what failed, in words; never a traceback. Returns the text."""
        error = worker.error
        if isinstance(error, PeerdeskError):
            text = str(error)
        else:
            text = f"Something went wrong ({type(error).__name__}): {error}"
        self.notify(text, title="Error", severity="error", timeout=10, markup=False)
        return text

    def get_line_filters(self) -> list[LineFilter]:
        filters = list(super().get_line_filters())
        return [*filters, self._sixteen] if self._sixteen.enabled else filters

    # ---- help and palette ----
    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        title = getattr(screen, "HELP_TITLE", "") or type(screen).__name__.replace("Screen", "")
        if not self.is_screen_installed("help"):  # one help screen, kept: later `?` only refill it
            self.install_screen(HelpScreen(), "help")
        help_screen = self.get_screen("help")
        assert isinstance(help_screen, HelpScreen)
        help_screen.show_for(screen, title)
        self.push_screen(help_screen)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help: keys of this screen", "Show every key (?)", self.action_help)
        for panel in PANELS:
            yield SystemCommand(
                f"Go to {panel.title}",
                f"Switch to the {panel.title} panel (key {panel.key})",
                partial_switch(self, panel.name),
            )


def partial_switch(app: PeerdeskApp, name: str) -> Callable[[], object]:
    def switch() -> object:
        app.show_panel(name)
        return None

    return switch
