"""The sweep at scale, for infra/bench.py: builds and runs `sweep_bench` (integration-tests,
release), which seeds its own emulated AWS with N records and their objects, times one full
pass and counts its calls at the gateways, and times the orphan audit. Returns table rows."""
import json
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
# One run every 5 minutes (template.yaml's schedule); a run reads no new page after 10 minutes.
SCHEDULE_SECONDS = 300


def sweep_rows(records, orphans):
    """Rows (what, measured, goal) for a full pass at each size in `records` and the audit of
    `orphans` objects."""
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "integration-tests", "--bin", "sweep_bench"],
                   cwd=ROOT, check=True)
    sizes = ",".join(str(n) for n in records)
    answer = subprocess.run([str(ROOT / "target" / "release" / "sweep_bench"), "--records", sizes,
                             "--orphans", str(orphans)], cwd=ROOT, check=True, capture_output=True, text=True)
    rows = []
    # The functions' logs share stdout (the test harness's subscriber); measurements are JSON.
    for line in answer.stdout.splitlines():
        if not line.startswith("{"):
            continue
        m = json.loads(line)
        calls = f"{m['s3']} S3 + {m['dynamodb']} DynamoDB calls"
        if m["what"].startswith("full pass"):
            rows.append((f"sweep: {m['what']} (all redundant)",
                         f"{m['seconds']:.1f} s in {m['runs']} run(s); {calls}",
                         f"within one {SCHEDULE_SECONDS // 60}-minute run; S3 calls ∝ objects / 1,000, not records"))
        else:
            per_10k = m["seconds"] * 10_000 / max(orphans, 1)
            rows.append((f"sweep: {m['what']}", f"{m['seconds']:.1f} s ({per_10k:.1f} s per 10,000); {calls}",
                         "—"))
    return rows
