"""Mount what plugins contribute to the API: their routes under ``/plugins/<name>/`` and their middleware.

Routes are namespaced per plugin so no plugin can shadow a core route or another plugin's,
and the API passes its guards so plugin routes are authenticated like every other route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Router
from litestar.exceptions import ImproperlyConfiguredException

from sonicgen.errors import PluginError
from sonicgen.hooks.loader import SitePlugins


def plugin_routers(plugins: SitePlugins, guards: Sequence[Any] = ()) -> list[Router]:
    """One Router per plugin with routes, at ``/plugins/<name>``, behind ``guards``."""
    routers = []
    for name, handlers in plugins.extensions.routes.items():
        try:
            routers.append(Router(path=f"/plugins/{name}", route_handlers=handlers, guards=list(guards)))
        except (ImproperlyConfiguredException, TypeError, ValueError) as exc:
            raise PluginError(name, "api routes", f"cannot mount its routes: {exc}") from exc
    return routers


def plugin_middleware(plugins: SitePlugins) -> list[Any]:
    """Every plugin's middleware, in plugin setup order (the first listed is outermost)."""
    order = [p.plugin.name for p in plugins.plugins if p.enabled]
    return [mw for name in order for mw in plugins.extensions.middleware.get(name, [])]
