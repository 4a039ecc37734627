#!/usr/bin/env python3
"""twinshare's benchmark: measures the local stack and prints a table beside the goals of
DESIGN.md §6. Starts its own stack (release builds, its own ports) and stops it afterwards.

    infra/bench                      # everything
    infra/bench --burst 50           # a smaller burst
    infra/bench --browser-gib 0      # without the browser memory measurement
    infra/bench --lighthouse-runs 0  # without Lighthouse
    infra/bench --lighthouse-only    # only Lighthouse
    infra/bench --sweep-only         # only the sweep at 10,000 and 100,000 records
    infra/bench --search-only        # only search and sort at 1,000 and 10,000 files
    infra/bench --region-only        # only losing a whole region (bench_region.py)
    infra/bench --failover-only      # only sharing while the primary region is down (bench_failover.py)
"""
import argparse
import base64
import concurrent.futures
import gzip
import hashlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import boto3
import botocore.config

import bench_failover
import bench_region
import bench_search
import bench_sweep

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "bench-stack"
PORTS = {"SITE": 28080, "API": 29000, "METADATA": 24566, "PRIMARY_S3": 24567, "REPLICA_S3": 24568,
         "SECOND_METADATA": 24569, "SECOND_API": 29001, "FRONT": 29002}
API = f"http://127.0.0.1:{PORTS['API']}"
MIB = 1024 * 1024


def now_ms():
    return time.time() * 1000


def call(method, path, body=None, token=None):
    """One API call; `token` is the upload's manage token, which the owner's calls need."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(API + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def put(url, headers, data):
    # urllib would call a body without a type a form, which moto then parses as one.
    headers = {"content-type": "application/octet-stream", **headers}
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        assert response.status == 200, response.status


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# Parts in flight, as the site sends them.
PARTS_IN_FLIGHT = 6
MULTIPART_THRESHOLD = 32 * MIB


def share(name, data):
    """Announce, send (one PUT, or parts in parallel as the site does: each hashed, signed in
    batches, sent), complete. Returns (file id, ms when the bytes were stored, total seconds,
    seconds until the bytes were stored: the rest is completion, where moto assembles parts)."""
    started = time.perf_counter()
    announce = {"name": name, "size": len(data), "content_type": "application/octet-stream"}
    if len(data) <= MULTIPART_THRESHOLD:
        announce["sha256"] = sha256_b64(data)
    created = call("POST", "/api/uploads", announce)
    upload, file_id, token = created["upload"], created["file"]["id"], created["manage_token"]
    if upload["kind"] == "single":
        put(upload["url"], upload["headers"], data)
    else:
        size, count = upload["part_size"], upload["part_count"]
        view = memoryview(data)
        part = lambda n: view[(n - 1) * size:n * size]  # noqa: E731

        def send_batch(numbers):
            signed = call("POST", f"/api/uploads/{file_id}/parts",
                          {"parts": [{"number": n, "sha256": sha256_b64(part(n))} for n in numbers]}, token)
            for url in signed["parts"]:
                request = url["request"]
                put(request["url"], request["headers"], part(url["number"]))

        # One part per task keeps all PARTS_IN_FLIGHT busy to the end.
        with concurrent.futures.ThreadPoolExecutor(PARTS_IN_FLIGHT) as pool:
            list(pool.map(send_batch, [[n] for n in range(1, count + 1)]))
    stored_at, sent = now_ms(), time.perf_counter() - started
    call("POST", f"/api/uploads/{file_id}/complete", token=token)
    return file_id, stored_at, time.perf_counter() - started, sent


def chromium_tree_rss(browser_pid):
    """Resident memory (bytes) of Chromium's browser process and every process under it."""
    children = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [browser_pid]
    while todo:
        pid = todo.pop()
        try:
            for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
        todo.extend(children.get(pid, []))
    return total


def browser_upload_memory(size):
    """Uploads a file of `size` bytes through the site in headless Chromium; returns (peak
    resident memory of all Chromium's processes, the first sample, seconds)."""
    with tempfile.TemporaryDirectory(prefix="twinshare-bench-") as folder:
        path = pathlib.Path(folder) / f"bench {size // MIB} MiB.bin"
        with open(path, "wb") as out:
            block = os.urandom(MIB)
            for i in range(size // MIB):
                out.write(block[:8] + i.to_bytes(8, "little") + block[16:])
        script = ROOT / "site/end2end/bench/upload.mjs"
        env = {**os.environ, "E2E_BASE_URL": f"http://127.0.0.1:{PORTS['SITE']}", "BENCH_FILE": str(path)}
        runner = subprocess.Popen(["node", str(script)], cwd=ROOT / "site/end2end", env=env,
                                  stdout=subprocess.PIPE, text=True)
        browser_pid = int(runner.stdout.readline().split()[-1])  # "chromium pid N"
        peak, samples, done = 0, [], threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                rss = chromium_tree_rss(browser_pid)
                samples.append(rss)
                peak = max(peak, rss)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        report = runner.stdout.read()
        done.set()
        sampler.join()
        if runner.wait() != 0:
            raise SystemExit(f"the browser upload failed (its error is above): {report.strip()}")
        seconds = float(report.split()[-1])  # "uploaded in S"
        return peak, samples[0] if samples else 0, seconds


def replica_verified_at(file_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        file = call("GET", f"/api/files/{file_id}")
        replica = next(c for c in file["copies"] if c["role"] == "replica")
        if replica["state"] == "verified":
            return replica["updated_at_ms"]
        time.sleep(0.05)
    raise SystemExit(f"file {file_id} did not become redundant within {timeout} s")


def fault(mode):
    request = urllib.request.Request(f"http://127.0.0.1:{PORTS['PRIMARY_S3']}/__twinshare/fault",
                                     data=mode.encode(), method="PUT")
    urllib.request.urlopen(request, timeout=10).read()


def probe():
    event = (ROOT / "functions/probe/events/scheduled.json").read_bytes()
    request = urllib.request.Request(f"{API}/2015-03-31/functions/probe/invocations", data=event, method="POST")
    return json.loads(urllib.request.urlopen(request, timeout=60).read())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def redirect_seconds(file_id, times):
    """Time to the download's 302, `times` times; also where it pointed."""
    opener = urllib.request.build_opener(NoRedirect)
    took, locations = [], set()
    for _ in range(times):
        started = time.perf_counter()
        try:
            opener.open(f"{API}/api/files/{file_id}/download", timeout=30)
        except urllib.error.HTTPError as answer:
            assert answer.code == 302, answer.code
            locations.add(answer.headers["location"].split("/twinshare-")[0])
        took.append(time.perf_counter() - started)
    return took, locations


def region_of(location):
    port = int(location.rsplit(":", 1)[-1])
    return {PORTS["PRIMARY_S3"]: "primary", PORTS["REPLICA_S3"]: "replica"}.get(port, location)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def lags(files):
    return [max(0.0, replica_verified_at(file_id) - stored_at) / 1000 for file_id, stored_at, *_ in files]


def spread(values, unit="s", scale=1.0, digits=2):
    """Median and range of repeated measurements: the machine is noisy, one run says little."""
    v = [x * scale for x in values]
    return (f"median {statistics.median(v):.{digits}f} {unit} (range {min(v):.{digits}f}–{max(v):.{digits}f}, "
            f"n={len(v)})")


def start_stack():
    env = {**os.environ, "TWINSHARE_STATE_DIR": str(STATE)}
    env.update({f"TWINSHARE_{name}_PORT": str(port) for name, port in PORTS.items()})
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "ready").unlink(missing_ok=True)
    log = open(STATE / "stack.log", "w")
    # Probes only when the benchmark asks, so "before the probe notices" is under its control.
    # Reads give up as deployed (300 ms a table attempt): the region-loss figures depend on it.
    stack = subprocess.Popen([sys.executable, str(ROOT / "infra/local/stack.py"), "--release", "--no-reload",
                              "--probe-every", "100000", "--metadata-read-timeout-ms", "300"], env=env,
                             stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 1800
    while not (STATE / "ready").exists():
        if stack.poll() is not None or time.time() > deadline:
            raise SystemExit(f"the stack did not start; see {STATE / 'stack.log'}")
        time.sleep(1)
    return stack


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=200, help="files of 1 MiB uploaded at once")
    parser.add_argument("--large", type=int, default=5, help="paired runs of the 100 MiB comparison")
    parser.add_argument("--workers", type=int, default=16, help="uploads in flight during the burst")
    parser.add_argument("--multipart-mib", type=int, default=1024, help="size of the multipart vs single PUT file")
    parser.add_argument("--multipart-runs", type=int, default=3, help="paired runs of the multipart comparison")
    parser.add_argument("--browser-gib", type=float, default=2, help="size of the file uploaded through Chromium")
    parser.add_argument("--lighthouse-runs", type=int, default=3, help="Lighthouse runs of each page")
    parser.add_argument("--lighthouse-only", action="store_true", help="measure the site with Lighthouse, nothing else")
    parser.add_argument("--sweep-records", default="10000,100000",
                        help="table sizes (comma-separated) a full sweep pass is measured at; empty: none")
    parser.add_argument("--sweep-orphans", type=int, default=10000, help="orphaned objects the audit is timed on")
    parser.add_argument("--sweep-only", action="store_true", help="measure the sweep, nothing else")
    parser.add_argument("--search-files", default="1000,10000",
                        help="listed files (comma-separated) search pages are measured at; empty: none")
    parser.add_argument("--search-only", action="store_true", help="measure search and sort, nothing else")
    parser.add_argument("--region-only", action="store_true", help="measure losing a whole region, nothing else")
    parser.add_argument("--region-rounds", type=int, default=3, help="interleaved rounds of each region fault")
    parser.add_argument("--failover-only", action="store_true",
                        help="measure sharing while the primary region is down, nothing else")
    parser.add_argument("--failover-rounds", type=int, default=3, help="interleaved rounds of sharing, up and down")
    args = parser.parse_args()
    if args.region_only or args.failover_only:
        args.search_files = args.sweep_records = ""
        args.lighthouse_runs = 0

    # Search, like the sweep, on its own emulated AWS before the stack starts.
    search_sizes = [int(n) for n in args.search_files.split(",") if n.strip()]
    search = []
    if search_sizes and not (args.lighthouse_only or args.sweep_only):
        print(f"measuring search at {args.search_files} listed files (seeding 10,000 takes minutes)…", flush=True)
        search = bench_search.search_rows(search_sizes)
        print_table(search)
        if args.search_only:
            return

    # The sweep runs on its own emulated AWS, before the stack starts, so they do not compete.
    sweep_sizes = [int(n) for n in args.sweep_records.split(",") if n.strip()]
    if sweep_sizes and not args.lighthouse_only:
        print(f"measuring the sweep at {args.sweep_records} records (seeding 100,000 takes minutes)…", flush=True)
        sweep = bench_sweep.sweep_rows(sweep_sizes, args.sweep_orphans)
        print_table(sweep)
        if args.sweep_only:
            return
    else:
        sweep = []

    print("starting a release stack (the first release build takes several minutes)…", flush=True)
    stack = start_stack()
    rows = list(search) + list(sweep)
    try:
        # The site on a simulated phone, first, while the machine is otherwise quiet.
        if args.lighthouse_runs > 0:
            shown, *_ = share("lighthouse.txt", b"a file for Lighthouse to open\n")
            rows.extend(lighthouse_rows(f"http://127.0.0.1:{PORTS['SITE']}", shown, args.lighthouse_runs))
            if args.lighthouse_only:
                return
            print_table(rows)

        # A whole region lost and back, through the site's front (the local origin group): reads,
        # then sharing (writes fall over to the second region).
        regions = json.loads((STATE / "regions.json").read_text())
        site, code = f"http://127.0.0.1:{PORTS['SITE']}", os.environ.get("TWINSHARE_UPLOAD_CODE")
        if not args.failover_only:
            rows.extend(bench_region.region_loss_rows(site, regions, code, args.region_rounds))
            print_table(rows)
        if not args.region_only:
            rows.extend(bench_failover.write_failover_rows(site, regions, code, args.failover_rounds))
        if args.region_only or args.failover_only:
            return
        print_table(rows)

        # Upload: twinshare's whole path vs a raw presigned PUT of the same bytes to the same S3.
        data = os.urandom(100 * MIB)
        # SigV4, as twinshare presigns: the region's gateway recognises only SigV4 signatures (boto3
        # would otherwise presign with SigV2, which the gateway treats as anonymous and refuses).
        s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{PORTS['PRIMARY_S3']}",
                          aws_access_key_id="twinshare-local", aws_secret_access_key="twinshare-local",
                          config=botocore.config.Config(signature_version="s3v4"))

        # Checksums as twinshare sends them (x-amz-checksum-sha256 headers), not the SDK's default
        # trailing CRC in an aws-chunked body.
        parts_client = boto3.client("s3", region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{PORTS['PRIMARY_S3']}",
                                    aws_access_key_id="twinshare-local", aws_secret_access_key="twinshare-local",
                                    config=botocore.config.Config(request_checksum_calculation="when_required",
                                                                  response_checksum_validation="when_required"))

        def raw_put(body):
            """A presigned PUT of `body` as a careful client sends it: hashed, and bound to that
            SHA-256 (S3, and here the region's gateway, check it), as twinshare binds its uploads.
            Returns seconds, hashing included."""
            started = time.perf_counter()
            sha = sha256_b64(body)
            url = s3.generate_presigned_url("put_object", Params={
                "Bucket": "twinshare-primary", "Key": "bench/raw", "ContentType": "application/octet-stream",
                "ChecksumSHA256": sha})
            put(url, {"content-type": "application/octet-stream", "x-amz-checksum-sha256": sha}, body)
            return time.perf_counter() - started

        def raw_multipart(body):
            """The same parts as twinshare sends (8 MiB, each bound to its SHA-256,
            PARTS_IN_FLIGHT at once) straight to S3 with the SDK: what any client sending in parts
            pays, the emulator's assembling included, without twinshare. Returns seconds."""
            started = time.perf_counter()
            part_size = 8 * MIB
            s3 = parts_client
            upload = s3.create_multipart_upload(Bucket="twinshare-primary", Key="bench/raw-parts",
                                                ChecksumAlgorithm="SHA256")["UploadId"]
            view = memoryview(body)

            def send(number):
                chunk = view[(number - 1) * part_size:number * part_size]
                answer = s3.upload_part(Bucket="twinshare-primary", Key="bench/raw-parts", UploadId=upload,
                                        PartNumber=number, Body=bytes(chunk), ChecksumSHA256=sha256_b64(chunk))
                return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer.get("ChecksumSHA256")}

            count = -(-len(body) // part_size)
            with concurrent.futures.ThreadPoolExecutor(PARTS_IN_FLIGHT) as pool:
                parts = list(pool.map(send, range(1, count + 1)))
            s3.complete_multipart_upload(Bucket="twinshare-primary", Key="bench/raw-parts", UploadId=upload,
                                         MultipartUpload={"Parts": [{k: v for k, v in p.items() if v} for p in parts]})
            return time.perf_counter() - started

        # Interleaved (raw, ours, raw parts, …) so that a slow moment of the machine hits all three.
        raw, ours, raw_parts, large = [], [], [], []
        for i in range(args.large):
            raw.append(raw_put(data))
            file = share(f"large {i}.bin", data)
            ours.append(file[2])
            large.append(file)
            raw_parts.append(raw_multipart(data))
        ratios = [o / r for o, r in zip(ours, raw)]
        sending = [f[3] for f in large]
        assembling = [f[2] - f[3] for f in large]
        rows.append(("upload 100 MiB via twinshare (in parts) / one raw presigned PUT, paired runs",
                     f"ratio {spread(ratios, '×')}", "≤ 1.05× (median)"))
        rows.append(("  twinshare: whole upload", spread(ours), "—"))
        rows.append(("  of which sending the parts (twinshare + the S3 emulator)", spread(sending), "—"))
        rows.append(("  of which completing (moto assembles the parts in Python; S3 does not copy)",
                     spread(assembling), "—"))
        rows.append(("  raw presigned PUT (hashing included)", spread(raw), "—"))
        rows.append(("upload 100 MiB via twinshare / the same parts sent straight to S3 (twinshare's own cost)",
                     f"ratio {spread([o / r for o, r in zip(ours, raw_parts)], '×')}", "≈ 1×"))
        rows.append(("  the same parts straight to S3 with the SDK (moto's assembling included)", spread(raw_parts), "—"))
        large_lags = lags(large)

        # Replication lag of a burst of small files.
        blobs = [os.urandom(MIB) for _ in range(args.burst)]
        with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
            burst = list(pool.map(lambda ib: share(f"burst {ib[0]}.bin", ib[1]), enumerate(blobs)))
        burst_lags = lags(burst)
        for what, values, goal in ((f"replication lag, burst of {args.burst} × 1 MiB", burst_lags, "p50 < 0.5 s, p99 < 2 s"),
                                   (f"replication lag, {args.large} × 100 MiB", large_lags, "—")):
            rows.append((what, f"p50 {percentile(values, 50):.2f} s · p95 {percentile(values, 95):.2f} s · "
                               f"p99 {percentile(values, 99):.2f} s · max {max(values):.2f} s", goal))

        # Download redirects while the primary region fails.
        target = burst[0][0]
        goals = {"normal": "—", "primary down, before the probe notices": "p99 < 1 s extra",
                 "primary hanging, before the probe notices": "p99 ≤ 100 ms (hedged)",
                 "primary marked down by the probe": "no extra wait"}
        probe()
        phases = [("normal", "ok", 200, False), ("primary down, before the probe notices", "down", 200, False),
                  ("primary hanging, before the probe notices", "hang", 100, False),
                  ("primary marked down by the probe", "hang", 200, True)]
        for what, mode, times, after_probe in phases:
            fault(mode)
            if after_probe:
                probe(), probe()  # two failures in a row mark a region down
            took, locations = redirect_seconds(target, times)
            rows.append((f"download redirect, {what}",
                         f"p50 {percentile(took, 50) * 1000:.0f} ms · p99 {percentile(took, 99) * 1000:.0f} ms "
                         f"→ {', '.join(sorted(region_of(l) for l in locations))}", goals[what]))
        fault("ok")
        probe()  # the region is up again: uploads resume

        # Large uploads last: gigabytes in the emulators would slow the latency measurements above.
        # 1 GiB: parts in parallel through twinshare vs one presigned PUT of the same bytes.
        if args.multipart_runs > 0:
            big = os.urandom(args.multipart_mib * MIB)
            singles, parts_files = [], []
            for i in range(args.multipart_runs):
                singles.append(raw_put(big))
                parts_files.append(share(f"multipart {i}.bin", big))
            del big
            totals = [f[2] for f in parts_files]
            sends = [f[3] for f in parts_files]
            rows.append((f"upload {args.multipart_mib} MiB: {PARTS_IN_FLIGHT} parallel parts / one PUT, paired runs",
                         f"ratio {spread([t / s for t, s in zip(totals, singles)], '×')}",
                         "not slower than one PUT locally"))
            rows.append(("  parts: sending", spread(sends), "—"))
            rows.append(("  parts: completing (moto assembling the parts, the emulator's cost)",
                         spread([t - s for t, s in zip(totals, sends)]), "—"))
            rows.append(("  one presigned PUT", spread(singles), "—"))
            rows.append((f"replication lag, {args.multipart_mib} MiB sent in parts",
                         spread(lags(parts_files)), "—"))

        # Browser memory while uploading through the page: a small and a large file.
        if args.browser_gib > 0:
            growth = {}
            for size in (256 * MIB, int(args.browser_gib * 1024) * MIB):
                label = f"Chromium memory uploading {size / MIB / 1024:.2f} GiB through the page"
                try:
                    peak, baseline, seconds = browser_upload_memory(size)
                except SystemExit as failure:
                    rows.append((label, f"not measured: {failure}", "bounded: not growing with the file"))
                    continue
                growth[size] = peak - baseline
                rows.append((label, f"peak {peak / MIB:.0f} MiB, growth {growth[size] / MIB:.0f} MiB "
                                    f"(at start {baseline / MIB:.0f} MiB) · {size / MIB / seconds:.0f} MiB/s", "—"))
            if len(growth) == 2:
                small, large_growth = growth[256 * MIB], growth[int(args.browser_gib * 1024) * MIB]
                rows.append((f"Chromium growth at {args.browser_gib:g} GiB / growth at 0.25 GiB",
                             f"{large_growth / max(small, 1):.2f}× ({large_growth / MIB:.0f} MiB)",
                             "≤ 1.2× and < 256 MiB"))

        for binary in ("upload-api", "files-api", "replicate", "sweep", "probe"):
            path = ROOT / "target" / "release" / binary
            if path.exists():
                rows.append((f"binary {binary} (release, stripped, x86_64)", f"{path.stat().st_size / MIB:.1f} MiB",
                             "≤ 10 MB"))
        wasm = sorted((ROOT / "site" / "dist").glob("*.wasm"))
        if wasm:
            packed = len(gzip.compress(wasm[0].read_bytes(), 9))
            rows.append(("site wasm (release, gzip)", f"{packed / 1024:.0f} KiB", "≤ 500 KB"))
    finally:
        stack.terminate()
        stack.wait(30)
        print_table(rows)


LIGHTHOUSE = ROOT / "infra" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def lighthouse_cli():
    """Lighthouse from infra/lighthouse's lockfile, installed when the lockfile changes."""
    lock = LIGHTHOUSE / "package-lock.json"
    stamp = LIGHTHOUSE / "node_modules" / ".twinshare-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=LIGHTHOUSE, check=True,
                       stdout=subprocess.DEVNULL)
        stamp.write_text(digest)
    return LIGHTHOUSE / "node_modules" / ".bin" / "lighthouse"


def lighthouse_scores(cli, url):
    """Lighthouse's mobile scores (its default: a mid-range phone on a slow 4G network,
    simulated) of one page, 0–100 per category, and its largest contentful paint in seconds."""
    with tempfile.TemporaryDirectory() as profile:
        answer = subprocess.run(
            [str(cli), url, "--output=json", "--quiet", f"--only-categories={','.join(CATEGORIES)}",
             "--chrome-path=" + os.environ.get("CHROMIUM", "/usr/bin/chromium"),
             f"--chrome-flags=--headless=new --no-sandbox --disable-gpu --user-data-dir={profile}"],
            capture_output=True, text=True, timeout=300)
    if answer.returncode != 0:
        raise SystemExit(f"lighthouse failed on {url}: {answer.stderr[-500:]}")
    report = json.loads(answer.stdout)
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    return scores, report["audits"]["largest-contentful-paint"]["numericValue"] / 1000


def lighthouse_rows(site_url, file_id, runs):
    """Each page `runs` times, interleaved; the median and range of each category."""
    cli = lighthouse_cli()
    pages = {"upload page": "/", "table of files": "/files", "a file page": f"/f/{file_id}"}
    results = {page: [] for page in pages}
    for _ in range(runs):
        for page, path in pages.items():
            results[page].append(lighthouse_scores(cli, site_url + path))
    rows = []
    for page, measured in results.items():
        perf = [scores["performance"] for scores, _ in measured]
        others = " · ".join(f"{c} {statistics.median([s[c] for s, _ in measured]):.0f}" for c in CATEGORIES[1:])
        rows.append((f"Lighthouse mobile, {page} (release build, {runs} runs)",
                     f"performance {spread(perf, '', digits=0)} · LCP {spread([l for _, l in measured])} · {others}",
                     "performance ≥ 90"))
    return rows


def print_table(rows):
    """The measurements so far (all of them, unless a step failed)."""
    if not rows:
        return
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\n| {'what':<{width}} | {'measured':<{value_width}} | goal |")
    print(f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|------|")
    for what, measured, goal in rows:
        print(f"| {what:<{width}} | {measured:<{value_width}} | {goal} |")
    print("\nmachine:", os.uname().machine, f"{os.cpu_count()} cores; local emulators, not AWS.")


if __name__ == "__main__":
    main()
