"""JUnit XML for CI test panels: one ``<testcase>`` per gate.

``<testsuites>`` holds one ``<testsuite name="tunegate.<suite>">``. Each gate is a test case with
``classname`` = task and ``name`` = ``"<metric> <kind> <threshold>"``. A failed gate carries a
``<failure>``; an *inconclusive* gate is reported as ``<skipped>`` (not ``<error>``): the comparison
ran correctly but had too few items to decide, which is neither a regression nor a broken run. CI
panels show it as skipped with the reason; the process exit code (3) still marks the run inconclusive.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from tunegate.report._format import ci_label, fmt_ci, fmt_delta, fmt_score
from tunegate.runner import ComparisonResult

__all__ = ["render_junit", "write_junit"]

# characters XML 1.0 cannot carry at all
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: object) -> str:
    return _ILLEGAL.sub("\ufffd", str(text))


def render_junit(result: ComparisonResult) -> str:
    """The JUnit XML document as a string."""
    gates = result.gates
    counts = {
        "tests": str(len(gates)),
        "failures": str(sum(g.outcome == "fail" for g in gates)),
        "errors": "0",
        "skipped": str(sum(g.outcome == "inconclusive" for g in gates)),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "tunegate", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": _clean(f"tunegate.{result.suite}"), **counts})
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", result.verdict),
        ("run_id", result.run_id),
        ("base", result.base.get("spec", "")),
        ("tuned", result.tuned.get("spec", "")),
        ("limit", "" if result.limit is None else result.limit),
    ):
        ET.SubElement(props, "property", {"name": key, "value": _clean(value)})
    metrics = {(tc.task, m.metric): m for tc in result.tasks for m in tc.metrics}
    for g in gates:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(g.task),
                "name": _clean(f"{g.metric} {g.kind} {g.threshold:g}"),
                "time": "0",
            },
        )
        if g.outcome == "fail":
            ET.SubElement(case, "failure", {"message": _clean(g.reason), "type": "GateFailed"}).text = _clean(
                g.reason
            )
        elif g.outcome == "inconclusive":
            ET.SubElement(case, "skipped", {"message": _clean(f"inconclusive: {g.reason}")})
        m = metrics.get((g.task, g.metric))
        if m is not None:
            out = ET.SubElement(case, "system-out")
            out.text = _clean(
                f"{g.outcome}: base {fmt_score(m.base, m.metric)}, tuned {fmt_score(m.tuned, m.metric)}, "
                f"delta {fmt_delta(m.delta, m.metric)} "
                f"{ci_label(m.alpha)} {fmt_ci(m.ci_low, m.ci_high, m.metric)} (points), "
                f"n={m.n}, rule={g.rule}"
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: ComparisonResult, path: Path) -> None:
    """Write the JUnit XML report to ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(render_junit(result), encoding="utf-8")
    tmp.replace(path)
