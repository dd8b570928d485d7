"""The progress bar that ``fit``/``evaluate``/``predict`` print, in Keras 3's format::

    12/100 ━━━━━━━━━━━━━━━━━━━━ 1s 12ms/step - accuracy: 0.9100 - loss: 0.2500

verbose=1 redraws one line (``\\r`` on a terminal; a new line per update otherwise), verbose=2
prints one line when the target is reached, verbose=0 prints nothing.
"""
from __future__ import annotations

import math
import os
import sys
import time

_BAR = "━"


def _is_dynamic() -> bool:
    out = sys.stdout
    return (hasattr(out, "isatty") and out.isatty()) or "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def format_time(seconds: float, unit_name: str) -> str:
    """`` 12ms/step``: seconds per unit in s, ms or us, as Keras prints it."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def format_value(value) -> str:
    """``0.2500`` (4 decimals), or ``1.2000e-04`` for magnitudes ≤ 1e-3."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return f" {value}"
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


class Progbar:
    """A progress bar over ``target`` steps (``None`` if unknown).

    ``update(current, values)`` takes ``values`` as ``[(name, value), ...]`` (or a dict). Names in
    ``stateful_metrics`` are shown as given; other values are averaged over the steps seen, each
    weighted by the number of steps it covers (Keras's rule).
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics=None, unit_name: str = "step"):
        self.target = target
        self.width = int(width)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._dynamic = _is_dynamic()
        self._color = self._dynamic
        self._seen_so_far = 0
        self._values: dict[str, list] = {}
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    # ---- bookkeeping -----------------------------------------------------------------
    def _accumulate(self, current: int, values, finalize: bool) -> None:
        if isinstance(values, dict):
            values = values.items()
        for name, v in values or ():
            if name in self.stateful_metrics or finalize:
                self._values[name] = [v, 1]
                continue
            n = max(current - self._seen_so_far, 1)
            if name not in self._values:
                self._values[name] = [v * n, n]
            else:
                self._values[name][0] += v * n
                self._values[name][1] += n

    def _time_per_unit(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the (often slow) first step once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per = (now - self._time_after_first_step) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per

    def _metrics_text(self) -> str:
        text = ""
        for name, (total, count) in self._values.items():
            try:
                avg = total / max(1, count)
            except TypeError:
                avg = total
            text += f" - {name}:{format_value(avg)}"
        return text

    def _style(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self._color and text else text

    # ---- display -----------------------------------------------------------------------
    def update(self, current: int, values=None, finalize: bool | None = None) -> None:
        """Record step ``current`` with ``values`` and redraw (at most every ``interval`` seconds)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._accumulate(current, values, finalize)
        self._seen_so_far = current
        now = time.time()
        per_unit = self._time_per_unit(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if self.target is not None and self.target > 0:
                digits = int(math.log10(self.target)) + 1
                count = f"{current:{digits}d}/{self.target}"
                done = min(int(self.width * current / self.target), self.width)
                bar = (self._style(count, "1") + " " + self._style(_BAR * done, "32")
                       + self._style(_BAR * (self.width - done), "37"))
                plain = len(count) + 1 + self.width
            else:
                bar = f"{current:7d}/Unknown"
                plain = len(bar)
            if self.target is not None and self.target > 0 and not finalize:
                eta = per_unit * (self.target - current)
                if eta > 3600:
                    eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
                elif eta > 60:
                    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
                else:
                    eta_text = f"{int(eta)}s"
            else:
                eta_text = f"{now - self._start:.0f}s"
            tail = format_time(per_unit, self.unit_name) + self._metrics_text()
            info = " " + self._style(eta_text, "1") + tail
            total_width = plain + 1 + len(eta_text) + len(tail)
            message = ("\r" if self._dynamic else "") + bar + info
            if self._dynamic and self._prev_total_width > total_width:
                message += " " * (self._prev_total_width - total_width)  # erase the longer previous line
            if finalize or not self._dynamic:
                message += "\n"
            sys.stdout.write(message)
            sys.stdout.flush()
            self._prev_total_width = total_width
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            line += format_time(per_unit, self.unit_name)
            line += self._metrics_text() + "\n"
            sys.stdout.write(line)
            sys.stdout.flush()
        self._last_update = now

    def add(self, n: int, values=None) -> None:
        self.update(self._seen_so_far + n, values)
