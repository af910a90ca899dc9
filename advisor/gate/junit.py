"""JUnit XML for CI systems: one testcase per requirement, failures say by how much.

GitHub Actions, GitLab and Jenkins all render this format, so a failed gate shows up in
the pipeline's test tab next to the unit tests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from advisor.gate.types import GateResult


def junit_xml(result: GateResult) -> str:
    """The result as a JUnit XML document (one <testsuite>, one <testcase> per check)."""
    failures = sum(1 for c in result.checks if not c.passed)
    suite = ET.Element(
        "testsuite",
        name=f"advisor gate: {result.gate}",
        tests=str(len(result.checks)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="target", value=result.target)
    if result.best is not None:
        ET.SubElement(props, "property", name="candidate", value=result.best.label)
    ET.SubElement(props, "property", name="advisor_version", value=result.advisor_version)
    classname = f"advisor.gate.{result.target}"
    for chk in result.checks:
        case = ET.SubElement(suite, "testcase", classname=classname, name=chk.requirement, time="0")
        if chk.passed:
            ET.SubElement(case, "system-out").text = chk.message
        else:
            failure = ET.SubElement(case, "failure", message=chk.message, type="RequirementNotMet")
            who = result.best.label if result.best is not None else "no candidate"
            failure.text = f"{who}: {chk.message}"
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def write_junit(path: Path, result: GateResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(result), encoding="utf-8")
