"""Writes the Markdown of docs/LAB-EXAMPLES.md from the reports scripts/lab-examples.sh left.

Usage: lab_examples_table.py OUT EXAMPLE.yaml...

For each example: how long each step took, the checks passed, failed and skipped, each failed
check with its spec line and reason, and the skip reasons grouped by kind (names in backticks
replaced by `…`), each with its count and one full example.
"""

import json
import os
import re
import sys


def kind(reason):
    return re.sub(r"`[^`]*`", "`…`", reason or "")


def main():
    out, examples = sys.argv[1], sys.argv[2:]
    print("| Example | Steps (seconds) | Guests created (simulated only) | Passed | Failed | Skipped |")
    print("|---|---|---:|---:|---:|---:|")
    details = []
    for ex in examples:
        name = os.path.basename(ex).removesuffix(".yaml")
        work = os.path.join(out, name)
        steps = []
        if os.path.exists(os.path.join(work, "steps")):
            for line in open(os.path.join(work, "steps")):
                parts = line.split()
                if parts and parts[0] != "verify":
                    steps.append(" ".join(parts))
        guests = "–"
        try:
            created, simulated = open(os.path.join(work, "guests")).read().split()
            guests = f"{created} ({simulated})"
        except (OSError, ValueError):
            pass
        report = None
        try:
            with open(os.path.join(work, "verify.json")) as f:
                report = json.load(f)
        except (OSError, ValueError):
            pass
        if report is None:
            print(f"| `{name}` | {', '.join(steps)} | {guests} | – | – | – |")
            continue
        print(
            f"| `{name}` | {', '.join(steps)} | {guests} | {report['passed']} | {report['failed']} | {report['skipped']} |"
        )
        lines = [f"### `{name}`", ""]
        failed = [c for c in report["checks"] if c["status"] == "fail"]
        if failed:
            lines.append("Failed:")
            lines.append("")
            for c in failed:
                lines.append(f"- `{c['id']}` ({c['location']}): {c.get('reason') or ''}")
            lines.append("")
        groups = {}
        for c in report["checks"]:
            if c["status"] == "skip":
                g = groups.setdefault(kind(c.get("reason")), [0, c.get("reason") or ""])
                g[0] += 1
        if groups:
            lines.append("| Skipped | Why (one example) |")
            lines.append("|---:|---|")
            for k, (n, example) in sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0])):
                lines.append(f"| {n} | {example} |")
            lines.append("")
        details.append("\n".join(lines))
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main()
