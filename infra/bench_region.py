#!/usr/bin/env python3
"""Losing a whole region, measured through the front (the local CloudFront origin group): the
time until a listing and a download are served by the second region once the primary region
goes down or hangs, failures after the first success, and what each read costs extra while the
primary is away (p99 against the same reads with both regions up). Rounds are interleaved
(up, down, up, hang, …) so that the machine's noise falls on every case alike.

    python3 infra/bench_region.py --site http://127.0.0.1:8080 --state .local   # a running stack
    infra/bench --region-only                                                    # its own release stack
"""
import argparse
import base64
import hashlib
import json
import os
import pathlib
import statistics
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent))

READS_PER_ROUND = 10


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def spread(values, unit="s", scale=1.0, digits=2):
    """Median and range of repeated measurements: the machine is noisy, one run says little."""
    v = [x * scale for x in values]
    return (f"median {statistics.median(v):.{digits}f} {unit} (range {min(v):.{digits}f}–{max(v):.{digits}f}, "
            f"n={len(v)})")


def request(url, timeout=30):
    """(status, location or body, seconds)."""
    started = time.perf_counter()
    try:
        with OPENER.open(url, timeout=timeout) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as answer:
        status, body = answer.code, answer.headers.get("location") or answer.read()
    except OSError as err:
        status, body = None, str(err)
    return status, body, time.perf_counter() - started


def set_region(regions, name, mode):
    for part in ("metadata", "storage"):
        urllib.request.urlopen(urllib.request.Request(f"{regions[name][part]}/__twinshare/fault",
                                                      data=mode.encode(), method="PUT"), timeout=10).read()


SECOND_REGION = "/api/second-region"


def post(site, path, body=None, headers=None, attempts=3):
    """POST to the primary region's API and, on a 5xx, a 404 or no answer, to the second
    region's, as the page and the CLI do. A round that neither region took (a 5xx, no answer, or
    a 404 from both for a record not replicated yet) is tried again after 0.5 s, then 1 s.
    Returns the answer's JSON."""
    data = json.dumps(body).encode() if body is not None else b""
    last = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        for prefix in ("", SECOND_REGION):
            sent = urllib.request.Request(f"{site}{prefix}{path}", data=data, method="POST",
                                          headers={"content-type": "application/json", **(headers or {})})
            try:
                with urllib.request.urlopen(sent, timeout=60) as answer:
                    return json.loads(answer.read() or b"null")
            except urllib.error.HTTPError as answer:
                # A 404 from the primary may be a file announced in the second region that
                # has not replicated yet: the second region is asked too (as the page does).
                if answer.code < 500 and answer.code != 404:
                    raise SystemExit(f"POST {prefix}{path}: {answer.code} {answer.read()[:300]!r}")
                last = f"{prefix or 'primary'}: {answer.code} {answer.read()[:300]!r}"
            except OSError as err:
                last = f"{prefix or 'primary'}: {err}"
    raise SystemExit(f"POST {path}: neither region took it in {attempts} tries ({last})")


def share(site, upload_code, name, data):
    """Announce, send and complete one file: (id, its home region, seconds, ms when its bytes
    were stored: replication starts from the bucket's event, not from the completion)."""
    started = time.perf_counter()
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    code = {"x-upload-code": upload_code} if upload_code else {}
    created = post(site, "/api/uploads", {"name": name, "size": len(data), "content_type": "text/plain",
                                          "sha256": sha, "visibility": "listed"}, code)
    upload = created["upload"]
    signed = {k: v for k, v in upload["headers"].items() if k not in ("host", "content-length")}
    urllib.request.urlopen(urllib.request.Request(upload["url"], data=data, method="PUT", headers=signed),
                           timeout=60).read()
    stored_ms = time.time() * 1000
    file = created["file"]
    post(site, f"/api/uploads/{file['id']}/complete", headers={"authorization": f"Bearer {created['manage_token']}"})
    return file["id"], file["home_region"], time.perf_counter() - started, stored_ms


def wait_redundant_in(api, file_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body, _ = request(f"{api}/api/files/{file_id}")
        if status == 200 and json.loads(body)["status"] == "redundant":
            return
        time.sleep(0.25)
    raise SystemExit(f"{file_id} is not redundant in {api} after {timeout} s")


def reads(site, file_id, word, replica_storage):
    """One listing and one download through the front: (listing s, download redirect s,
    failures, signed from the second region's copy)."""
    listing = request(f"{site}/api/files?q={word}")
    download = request(f"{site}/api/files/{file_id}/download")
    failed = int(listing[0] != 200) + int(download[0] != 302)
    second_copy = isinstance(download[1], str) and download[1].startswith(replica_storage)
    return listing[2], download[2], failed, second_copy


def round_of(site, file_id, word, replica_storage):
    """The first listing and download until both succeed (time to first success), then
    READS_PER_ROUND more of each: (first success s, later failures, seconds of every read,
    seconds of the download redirects, downloads signed from the second region's copy)."""
    started = time.perf_counter()
    while reads(site, file_id, word, replica_storage)[2]:
        if time.perf_counter() - started > 60:
            raise SystemExit("no read succeeded within 60 s")
    first = time.perf_counter() - started
    seconds, downloads, failures, second = [], [], 0, 0
    for _ in range(READS_PER_ROUND):
        listing, download, failed, second_copy = reads(site, file_id, word, replica_storage)
        seconds += [listing, download]
        downloads.append(download)
        failures += failed
        second += second_copy
    return first, failures, seconds, downloads, second


def region_loss_rows(site, regions, upload_code=None, rounds=3):
    primary, second = list(regions)
    word = f"farside{os.getpid()}"
    file_id, *_ = share(site, upload_code, f"{word}.txt", b"kept in two regions\n" * 100)
    wait_redundant_in(regions[second]["api"], file_id)
    results = {"up": [], "down": [], "hang": []}
    try:
        for _ in range(rounds):
            for mode in ("up", "down", "up", "hang"):
                set_region(regions, primary, "ok" if mode == "up" else mode)
                results[mode].append(round_of(site, file_id, word, regions[second]["storage"]))
    finally:
        set_region(regions, primary, "ok")
    up_p99 = [percentile(r[2], 99) for r in results["up"]]
    up_downloads = [s for r in results["up"] for s in r[3]]
    rows = [("reads through the front, both regions up (listing + download, p99 per round)",
             spread(up_p99, "ms", 1000, 0), "(baseline)")]
    # Each fault round is compared with the round with both up just before it.
    for mode, what, before in (("down", "refuses connections", up_p99[0::2]),
                               ("hang", "hangs (accepts, never answers)", up_p99[1::2])):
        first = [r[0] for r in results[mode]]
        failures = sum(r[1] for r in results[mode])
        reads_done = 2 * READS_PER_ROUND * len(results[mode])
        second_copy = sum(r[4] for r in results[mode])
        extra = [percentile(r[2], 99) - base for r, base in zip(results[mode], before)]
        downloads = [s for r in results[mode] for s in r[3]]
        rows.append((f"primary region {what}: first listing + download served by the second region",
                     f"{spread(first)}; then {failures} failed of {reads_done}; "
                     f"{second_copy}/{READS_PER_ROUND * len(results[mode])} downloads from its copy",
                     "seconds; no failed request after the first success"))
        rows.append((f"primary region {what}: download redirect during the outage",
                     f"p50 {statistics.median(downloads) * 1000:.0f} ms, p99 {percentile(downloads, 99) * 1000:.0f} ms "
                     f"(both up: p50 {statistics.median(up_downloads) * 1000:.0f} ms, "
                     f"p99 {percentile(up_downloads, 99) * 1000:.0f} ms; n={len(downloads)})", "p99 < 1 s extra"))
        rows.append((f"primary region {what}: extra per read (p99 − p99 with both up, per round)",
                     spread(extra, "ms", 1000, 0), "p99 < 1 s extra"))
    return rows


def running_stack_arguments(doc, more=lambda parser: None):
    """The command line of a benchmark run against a running local stack: its arguments, and
    the stack's regions (regions.json in its state directory). `more` adds the benchmark's own."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", required=True, help="the local stack's site URL")
    parser.add_argument("--state", type=pathlib.Path, required=True, help="its state directory (regions.json)")
    parser.add_argument("--upload-code", default=os.environ.get("TWINSHARE_UPLOAD_CODE"))
    parser.add_argument("--rounds", type=int, default=3)
    more(parser)
    args = parser.parse_args()
    return args, json.loads((args.state / "regions.json").read_text())


def main():
    args, regions = running_stack_arguments(__doc__)
    import bench
    bench.print_table(region_loss_rows(args.site.rstrip("/"), regions, args.upload_code, args.rounds))


if __name__ == "__main__":
    main()
