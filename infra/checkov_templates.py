#!/usr/bin/env python3
"""Checkov over the deployment templates; fails on any finding that has no reason.

Every finding is either fixed in the template or skipped *in the template*, next to the resource,
with the reason a reviewer needs (`Metadata: checkov: skip: [{id, comment}]`). This script runs
Checkov (from the project's .venv-checkov) and fails when a check fails, or when a skip carries
no comment. It prints what was skipped and why, so the reasons are read, not just kept.

Usage: checkov_templates.py TEMPLATE...
"""

import json
import subprocess
import sys
from pathlib import Path

NO_REASON = {"", "no comment provided"}


def scan(template: str) -> dict:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("checkov")), "--framework", "cloudformation", "--file", template,
         "--output", "json", "--compact", "--skip-download"],
        capture_output=True, text=True)
    if run.returncode not in (0, 1):  # 1 means findings; anything else is Checkov failing
        sys.exit(f"checkov could not scan {template}:\n{run.stderr[-2000:]}")
    report = json.loads(run.stdout or "{}")
    # One framework gives one report object; several give a list.
    if isinstance(report, list):
        report = next(r for r in report if r.get("check_type") == "cloudformation")
    summary = report.get("summary", {})
    if not summary.get("resource_count") or summary.get("parsing_errors"):
        sys.exit(f"checkov did not read {template}: {summary}")
    return report.get("results", {})


def main(templates: list[str]) -> int:
    problems = []
    for template in templates:
        results = scan(template)
        passed, failed, skipped = (results.get(k, []) for k in ("passed_checks", "failed_checks", "skipped_checks"))
        print(f"{template}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped with a reason")
        for check in failed:
            problems.append(f"{template}: {check['check_id']} {check['check_name']} ({check['resource']})")
        for check in skipped:
            reason = (check.get("check_result", {}).get("suppress_comment") or "").strip()
            if reason.lower() in NO_REASON:
                problems.append(f"{template}: {check['check_id']} skipped without a reason ({check['resource']})")
            else:
                print(f"  skip {check['check_id']} {check['resource']}: {reason}")
    if problems:
        print("Checkov findings to fix, or to skip in the template with a reason:")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
