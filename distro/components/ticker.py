"""A component with no markup that fires an event at a fixed interval while it is mounted."""

from __future__ import annotations

import hashlib

import reflex as rx
from reflex.event import no_args_event_spec
from reflex.vars.base import Var, VarData


class Ticker(rx.Fragment):
    """Fires `on_tick` every `interval_ms` milliseconds while the page is visible.

    The timer runs in the browser, so each open page polls whichever backend worker serves
    it, and the handler reads the database rather than one worker's memory. Ticks are
    skipped while the tab is hidden.
    """

    interval_ms: Var[int]
    on_tick: rx.EventHandler[no_args_event_spec]

    def _exclude_props(self) -> list[str]:
        # React.Fragment accepts no props; the timer lives in the hook below.
        return ["interval_ms", "on_tick", "onTick", "intervalMs"]

    def add_hooks(self) -> list[str | Var]:
        """Start the timer on mount and stop it on unmount."""
        chain = Var.create(self.event_triggers["on_tick"])
        ref = f"tickRef_{self._get_id_suffix()}"
        code = (
            f"const {ref} = useRef(null); {ref}.current = {chain!s};"
            f"useEffect(() => {{ const timer = setInterval(() => {{"
            f" if (!document.hidden && {ref}.current) {{ {ref}.current(); }} }},"
            f" {self.interval_ms!s});"
            f" return () => clearInterval(timer); }}, []);"
        )
        return [
            Var(
                _js_expr=code,
                _var_data=VarData.merge(
                    chain._get_all_var_data(),
                    VarData(imports={"react": ["useEffect", "useRef"]}),
                ),
            )
        ]

    def _get_id_suffix(self) -> str:
        # A stable name per handler and interval, so two tickers on one page do not collide.
        source = f"{self.interval_ms!s}|{self.event_triggers.get('on_tick')!s}"
        return hashlib.sha256(source.encode()).hexdigest()[:12]


def ticker(on_tick: rx.EventHandler, interval_ms: int = 1500) -> rx.Component:
    """Render a ticker that calls `on_tick` every `interval_ms` milliseconds."""
    return Ticker.create(interval_ms=interval_ms, on_tick=on_tick)
