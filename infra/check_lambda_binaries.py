#!/usr/bin/env python3
"""After `sam build` of both stacks: every function is an arm64 executable within the 10 MB
budget. Prints the sizes (README.md quotes them)."""
import pathlib
import sys

SAM = pathlib.Path(__file__).resolve().parents[1] / ".aws-sam"
# Build directory (samconfig.toml) -> functions its template has: the primary region's five, the
# second region's five too (both APIs, replicate, probe, and its sweep of the files homed there).
BUILDS = {SAM / "build": 5, SAM / "replica": 5}
BUDGET = 10_000_000


def main():
    problems, built = [], []
    for build, functions in BUILDS.items():
        found = sorted(build.glob("*/bootstrap"))
        if len(found) != functions:
            problems.append(f"sam build made {len(found)} functions in {build}, not {functions}")
        built += found
    for bootstrap in built:
        head = bootstrap.read_bytes()[:20]
        size = bootstrap.stat().st_size
        # An ELF header whose e_machine is 0xB7: AArch64.
        arm64 = head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 0xB7
        print(f"{bootstrap.parent.parent.name}/{bootstrap.parent.name:<20} {size / 2**20:5.1f} MiB  {'arm64' if arm64 else 'NOT arm64'}")
        if not arm64:
            problems.append(f"{bootstrap} is not an arm64 executable")
        if size > BUDGET:
            problems.append(f"{bootstrap} is {size} bytes, over the 10 MB budget")
    if problems:
        sys.exit("\n".join(problems))


if __name__ == "__main__":
    main()
