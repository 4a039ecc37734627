#!/usr/bin/env python3
"""Sharing while the primary region is down, measured through the site's origin as the page
shares (the primary region's API first, then on a 5xx, a 404 or no answer the second region's
under /api/second-region: bench_region.share): uploads accepted per second and the time each takes, both regions up and
with the primary down; whether each file shared during the outage downloads at once; and, once
the primary is back, the time until each of those files is redundant (its copy verified in the
primary's bucket). Rounds are interleaved (up, down, up, down, …) so that the machine's noise
falls on both cases alike.

    python3 infra/bench_failover.py --site http://127.0.0.1:8080 --state .local   # a running stack
    infra/bench --failover-only                                                    # its own release stack
"""
import concurrent.futures
import json
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bench_region import percentile, request, running_stack_arguments, set_region, share, spread  # noqa: E402


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
