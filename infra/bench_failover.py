#!/usr/bin/env python3
"""Sharing while the primary region is down, measured through the site's origin as the page
shares (the primary region's API first, then on a 5xx or no answer the second region's under
/api/second-region): uploads accepted per second and the time each takes, both regions up and
with the primary down; whether each file shared during the outage downloads at once; and, once
the primary is back, the time until each of those files is redundant (its copy verified in the
primary's bucket). Rounds are interleaved (up, down, up, down, …) so that the machine's noise
falls on both cases alike.

    python3 infra/bench_failover.py --site http://127.0.0.1:8080 --state .local   # a running stack
    infra/bench --failover-only                                                    # its own release stack
"""
import base64
import concurrent.futures
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

from bench_region import percentile, request, running_stack_arguments, set_region, spread  # noqa: E402

SECOND_REGION = "/api/second-region"


def post(site, path, body=None, headers=None, attempts=3):
    """POST to the primary region's API and, on a 5xx, a 404 or no answer, to the second
    region's, as the page and the CLI do; a round where neither took it (a 5xx, no answer, or a 404 from the
    second region for a record it has not received yet) is tried again after 0.5 s, then 1 s.
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


def burst(site, upload_code, label, files, workers, size):
    """`files` shared at once by `workers`: (shares, seconds for all)."""
    blobs = [os.urandom(size) for _ in range(files)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        shares = list(pool.map(lambda ib: share(site, upload_code, f"{label} {ib[0]}.bin", ib[1]), enumerate(blobs)))
    return shares, time.perf_counter() - started


def redundant_at(site, file_id, timeout=300):
    """When the file's other copy was verified (ms, the time that copy's state was written)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, body, _ = request(f"{site}/api/files/{file_id}")
        if status == 200:
            file = json.loads(body)
            verified = [c["updated_at_ms"] for c in file["copies"]
                        if c["region"] != file["home_region"] and c["state"] == "verified"]
            if verified:
                return verified[0]
        time.sleep(0.1)
    raise SystemExit(f"{file_id} is not redundant after {timeout} s")


def write_failover_rows(site, regions, upload_code=None, rounds=3, files=40, workers=8, size=64 * 1024):
    primary, second = list(regions)
    up_rates, down_rates, up_times, down_times, up_lags, back_lags, back_all = [], [], [], [], [], [], []
    homes, download_statuses = {primary: 0, second: 0}, {}
    try:
        for r in range(rounds):
            # Both regions up: the baseline, and the replication lag as usual.
            shares, seconds = burst(site, upload_code, f"both up {r}", files, workers, size)
            up_rates.append(files / seconds)
            up_times += [s[2] for s in shares]
            up_lags += [max(0.0, redundant_at(site, s[0]) - s[3]) / 1000 for s in shares]

            # The primary region down: every share falls over to the second region.
            set_region(regions, primary, "down")
            shares, seconds = burst(site, upload_code, f"primary down {r}", files, workers, size)
            down_rates.append(files / seconds)
            down_times += [s[2] for s in shares]
            for file_id, home, *_ in shares:
                homes[home] = homes.get(home, 0) + 1
                status, _, _ = request(f"{site}/api/files/{file_id}/download")
                download_statuses[status] = download_statuses.get(status, 0) + 1
            set_region(regions, primary, "ok")
            back = time.time() * 1000
            lags = [max(0.0, redundant_at(site, s[0]) - back) / 1000 for s in shares]
            back_lags += lags
            back_all.append(max(lags))
    finally:
        set_region(regions, primary, "ok")

    def latency(values):
        return f"p50 {statistics.median(values) * 1000:.0f} ms · p99 {percentile(values, 99) * 1000:.0f} ms"

    def lag(values):
        return (f"p50 {percentile(values, 50):.2f} s · p99 {percentile(values, 99):.2f} s · "
                f"max {max(values):.2f} s (n={len(values)})")

    per = f"{files} × {size // 1024} KiB, {workers} at once"
    return [
        (f"shares accepted per second, both regions up ({per})", spread(up_rates, "/s", digits=1), "(baseline)"),
        ("  time per share (announce, PUT, complete)", latency(up_times), "—"),
        ("  replication lag (bytes stored → copy verified in the second region)", lag(up_lags),
         "p50 < 0.5 s, p99 < 2 s"),
        (f"shares accepted per second, primary region down ({per}, each tried on the primary first)",
         spread(down_rates, "/s", digits=1), "sharing never stops"),
        ("  time per share", latency(down_times), "—"),
        ("  where they were kept; downloadable at once (302 through the front)",
         f"{homes.get(second, 0)} in {second}, {homes.get(primary, 0)} in {primary}; "
         f"{download_statuses.get(302, 0)}/{sum(download_statuses.values())} downloadable"
         + "".join(f", {n} answered {status}" for status, n in download_statuses.items() if status != 302),
         f"all in {second}; all downloadable"),
        ("  primary back → each file shared in the outage redundant (copy verified there)", lag(back_lags), "—"),
        ("  primary back → every file of the round redundant", spread(back_all), "no one acts"),
    ]


def main():
    def more(parser):
        parser.add_argument("--files", type=int, default=40, help="files shared in each round")
        parser.add_argument("--workers", type=int, default=8, help="shares in flight")

    args, regions = running_stack_arguments(__doc__, more)
    import bench
    bench.print_table(write_failover_rows(args.site.rstrip("/"), regions, args.upload_code, args.rounds,
                                          args.files, args.workers))


if __name__ == "__main__":
    main()
