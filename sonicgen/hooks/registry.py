"""One registry of hook handlers per site: validated at registration, called in priority order.

Handlers declare the arguments they want by name; the registry computes once which
arguments each handler takes, so a call costs a loop and a dict lookup per handler.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from sonicgen.errors import HookRegistrationError, PluginError, SonicgenError
from sonicgen.hooks.spec import CATALOGUE, HookSpec


@dataclass(frozen=True, slots=True)
class Handler:
    plugin: str
    hook: str
    fn: Callable[..., Any]
    priority: int
    order: int
    takes: tuple[str, ...]
    is_async: bool

    @property
    def name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))

    def location(self, exc: BaseException | None = None) -> tuple[str | None, int | None]:
        """The handler's file, and the line in it where ``exc`` was raised (else where it is defined)."""
        code = getattr(inspect.unwrap(self.fn), "__code__", None)
        if code is None:
            return None, None
        line = code.co_firstlineno
        if exc is not None:
            for frame in traceback.extract_tb(exc.__traceback__):
                if frame.filename == code.co_filename and frame.lineno is not None:
                    line = frame.lineno
        return str(Path(code.co_filename).resolve()), line

    def error(self, message: str, subject: str | None, exc: BaseException | None = None) -> PluginError:
        file, line = self.location(exc)
        return PluginError(self.plugin, self.hook, message, subject=subject, file=file, line=line)


@dataclass(frozen=True, slots=True)
class HookCall:
    """One traced call: of one handler (its plugin, name and priority), or a whole dispatch (``plugin`` None)."""

    hook: str
    seconds: float
    subject: str | None
    plugin: str | None = None
    name: str = ""
    priority: int = 0


Tracer = Callable[[HookCall], None]
"""Told of every handler call and every dispatch (``--debug-hooks``)."""


class HookRegistry:
    """Handlers by hook, ordered by priority (lower first), ties in registration order."""

    def __init__(self, catalogue: Mapping[str, HookSpec] = CATALOGUE) -> None:
        self.catalogue = catalogue
        self._handlers: dict[str, list[Handler]] = {name: [] for name in catalogue}
        self._count = 0
        self.tracer: Tracer | None = None
        self.calls = 0  # handler calls begun: a watch tells a call that does not end by it
        self.running: tuple[Handler, str | None] | None = None  # the innermost handler call under way, and its subject

    def register(self, hook: str, fn: Callable[..., Any], *, plugin: str, priority: int = 10) -> Handler:
        spec = self.catalogue.get(hook)
        if spec is None:
            known = ", ".join(sorted(self.catalogue))
            raise HookRegistrationError(f"plugin {plugin!r}: unknown hook {hook!r}; hooks are: {known}")
        if not callable(fn):
            raise HookRegistrationError(f"plugin {plugin!r}: handler for {hook!r} is not callable")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise HookRegistrationError(f"plugin {plugin!r}: priority for {hook!r} must be an integer")
        takes = _accepted(fn, spec, plugin)
        is_async = inspect.iscoroutinefunction(fn)
        if is_async and not spec.is_async:
            raise HookRegistrationError(f"plugin {plugin!r}: hook {hook!r} is synchronous; its handler {fn.__qualname__} must not be async")
        if spec.mode == "pipe" and spec.value_param not in takes:
            raise HookRegistrationError(
                f"plugin {plugin!r}: handler {fn.__qualname__} for pipe hook {hook!r} must accept {spec.value_param!r}"
            )
        handler = Handler(plugin, hook, fn, priority, self._count, takes, is_async)
        self._count += 1
        handlers = self._handlers[hook]
        handlers.append(handler)
        handlers.sort(key=lambda h: (h.priority, h.order))
        return handler

    def handlers(self, hook: str) -> list[Handler]:
        return list(self._handlers[hook])

    def only(self, keep: Callable[[Handler], bool]) -> HookRegistry:
        """A registry of the handlers ``keep`` accepts, in the same order, calling the same functions."""
        view = HookRegistry(self.catalogue)
        view._handlers = {hook: [h for h in handlers if keep(h)] for hook, handlers in self._handlers.items()}
        view._count, view.tracer = self._count, self.tracer
        return view

    def __contains__(self, hook: str) -> bool:
        return bool(self._handlers.get(hook))

    def _failure(self, handler: Handler, exc: Exception, subject: str | None) -> PluginError:
        """A plugin's bug (or refusal) surfaces with its name, never as a traceback."""
        message = str(exc) if isinstance(exc, SonicgenError) else f"{type(exc).__name__}: {exc}"
        return handler.error(message, subject, exc)

    def _call(self, handler: Handler, kwargs: Mapping[str, Any], subject: str | None) -> Any:
        started = perf_counter() if self.tracer else 0.0
        outer, self.running = self.running, (handler, subject)
        self.calls += 1
        try:
            return handler.fn(**{name: kwargs[name] for name in handler.takes})
        except PluginError:
            raise
        except Exception as exc:
            raise self._failure(handler, exc, subject) from exc
        finally:
            self.running = outer
            if self.tracer:
                self.tracer(HookCall(handler.hook, perf_counter() - started, subject, handler.plugin, handler.name, handler.priority))

    async def _acall(self, handler: Handler, kwargs: Mapping[str, Any], subject: str | None) -> Any:
        if not handler.is_async:
            return self._call(handler, kwargs, subject)
        started = perf_counter() if self.tracer else 0.0
        outer, self.running = self.running, (handler, subject)
        self.calls += 1
        try:
            return await handler.fn(**{name: kwargs[name] for name in handler.takes})
        except PluginError:
            raise
        except Exception as exc:
            raise self._failure(handler, exc, subject) from exc
        finally:
            self.running = outer
            if self.tracer:
                self.tracer(HookCall(handler.hook, perf_counter() - started, subject, handler.plugin, handler.name, handler.priority))

    def _plan(
        self, hook: str, value: Any, kwargs: dict[str, Any], subject: str | None
    ) -> Generator[tuple[Handler, dict[str, Any]], Any, Any]:
        """The mode's logic, once for sync and async: yields each call and receives its result."""
        spec = self.catalogue[hook]
        mode = spec.mode
        collected: list[tuple[str, Any]] = []
        for handler in self._handlers[hook]:
            if mode == "pipe":
                kwargs[spec.value_param] = value  # type: ignore[index]
            result = yield handler, kwargs
            if result is None:
                continue
            wanted = spec.expected()
            if wanted is not None and not isinstance(result, wanted):
                expected = wanted.__name__ if isinstance(wanted, type) else " or ".join(t.__name__ for t in wanted)
                raise handler.error(f"{handler.name} returned {type(result).__name__}, expected {expected} or None", subject)
            if mode == "pipe":
                value = result
            elif mode == "collect":
                collected.append((handler.plugin, result))
            elif mode == "first":
                return result
        return {"pipe": value, "collect": collected}.get(mode)

    def _dispatch(self, hook: str, value: Any, kwargs: dict[str, Any], subject: str | None) -> Any:
        if self.catalogue[hook].is_async:
            raise RuntimeError(f"hook {hook!r} is async; call it with the a-prefixed method")
        started = perf_counter() if self.tracer else 0.0
        plan = self._plan(hook, value, kwargs, subject)
        try:
            call = next(plan)
            while True:
                call = plan.send(self._call(*call, subject))
        except StopIteration as done:
            return done.value
        finally:
            if self.tracer:
                self.tracer(HookCall(hook, perf_counter() - started, subject))

    async def _adispatch(self, hook: str, value: Any, kwargs: dict[str, Any], subject: str | None) -> Any:
        started = perf_counter() if self.tracer else 0.0
        plan = self._plan(hook, value, kwargs, subject)
        try:
            call = next(plan)
            while True:
                call = plan.send(await self._acall(*call, subject))
        except StopIteration as done:
            return done.value
        finally:
            if self.tracer:
                self.tracer(HookCall(hook, perf_counter() - started, subject))

    def pipe(self, hook: str, value: Any, *, subject: str | None = None, **kwargs: Any) -> Any:
        """Thread ``value`` through the handlers; each may return a replacement (None keeps it)."""
        if not self._handlers[hook] and not self.tracer:
            return value
        return self._dispatch(hook, value, kwargs, subject)

    def collect(self, hook: str, *, subject: str | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
        """Every handler's non-None result, with the plugin that gave it."""
        return self._dispatch(hook, None, kwargs, subject)

    def first(self, hook: str, *, subject: str | None = None, **kwargs: Any) -> Any:
        """The first non-None result; later handlers are not called."""
        return self._dispatch(hook, None, kwargs, subject)

    def notify(self, hook: str, *, subject: str | None = None, **kwargs: Any) -> None:
        """Call every handler; results are ignored."""
        self._dispatch(hook, None, kwargs, subject)

    async def apipe(self, hook: str, value: Any, *, subject: str | None = None, **kwargs: Any) -> Any:
        """:meth:`pipe` for async hooks: async handlers are awaited, sync ones called."""
        return await self._adispatch(hook, value, kwargs, subject)

    async def anotify(self, hook: str, *, subject: str | None = None, **kwargs: Any) -> None:
        """:meth:`notify` for async hooks."""
        await self._adispatch(hook, None, kwargs, subject)


def _accepted(fn: Callable[..., Any], spec: HookSpec, plugin: str) -> tuple[str, ...]:
    """The hook arguments ``fn`` takes; reject parameters the hook cannot supply."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError) as exc:
        raise HookRegistrationError(f"plugin {plugin!r}: cannot inspect handler for {spec.name!r}: {exc}") from None
    takes = []
    for param in params:
        if param.kind is param.VAR_KEYWORD:
            return spec.params
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise HookRegistrationError(
                f"plugin {plugin!r}: handler {fn.__qualname__} for {spec.name!r} must take named arguments from: {', '.join(spec.params)}"
            )
        if param.name in spec.params:
            takes.append(param.name)
        elif param.default is param.empty:
            raise HookRegistrationError(
                f"plugin {plugin!r}: handler {fn.__qualname__} for {spec.name!r} takes {param.name!r}, "
                f"which the hook does not provide (it provides: {', '.join(spec.params)})"
            )
    return tuple(takes)
