"""Number formatting shared by every report."""

from __future__ import annotations

__all__ = ["fmt_ci", "fmt_delta", "fmt_p", "fmt_score"]


def fmt_score(x: float) -> str:
    return f"{100 * x:.1f}"


def fmt_delta(x: float) -> str:
    return f"{100 * x:+.1f}"


def fmt_ci(lo: float, hi: float) -> str:
    return f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"
