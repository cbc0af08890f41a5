"""A warning, while it runs, about a hook handler that takes long: a plugin that hangs (on the
network, on a lock) would otherwise leave a build silent with no sign of which plugin is stuck."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sonicgen.hooks.registry import HookRegistry


class SlowHookWatch:
    """Looks at ``registry`` from a thread of its own and tells ``warn`` once of each handler call
    still running ``after`` seconds after it began (0: never).  Use it as a context manager."""

    def __init__(self, registry: HookRegistry, after: float, warn: Callable[[str], None]) -> None:
        self.registry, self.after, self.warn = registry, after, warn
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="slow-hooks", daemon=True)

    def start(self) -> None:
        """Watch until :meth:`stop`, or for the rest of the process."""
        if self.after > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> SlowHookWatch:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _watch(self) -> None:
        seen, since, warned = -1, 0.0, -1
        while not self._stop.wait(min(1.0, max(0.05, self.after / 4))):
            calls, running = self.registry.calls, self.registry.running
            now = time.monotonic()
            if running is None or calls != seen:
                seen, since = calls, now  # another call began since the last look: it has not been running long
                continue
            if now - since >= self.after and warned != calls:
                warned = calls
                handler, subject = running
                where = f" on {subject}" if subject else ""
                self.warn(
                    f"warning: plugin {handler.plugin!r} hook {handler.hook!r} ({handler.name}) has been running for "
                    f"{now - since:.0f} s{where}; if it is stuck, stop the build with Ctrl+C and look at that plugin"
                )
