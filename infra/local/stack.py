#!/usr/bin/env python3
"""Starts twinshare on this machine: emulated AWS, the functions and the site, on loopback.

- moto servers: one per region for its metadata (DynamoDB, the global tables' two replicas,
  kept in step by global_tables.py), one per region's S3, so that a region's storage can go
  down on its own while metadata stays up; each is reached through gateway.py,
  which holds every call to the calling function's policy in template.yaml (as IAM does on
  AWS) and adds the S3 behaviour moto lacks (presigned response headers);
- provisioning from template.yaml (provision.py), and each function's resolved policy (iam.py);
- each function signs as itself: credentials.py is its credential_process;
- `cargo lambda watch` serving the functions, the HTTP ones on the API's real paths; a second
  one serving the second region's (infra/replica.yaml: the APIs, replicate, probe and sweep,
  configured for us-west-2, its own bucket and its replica of the tables);
- triggers.py playing AWS for the others, one per region: the region's replication queue →
  its `replicate`, and timers → its probe and its `sweep` (each region's sweep writes the
  records homed in it);
- site_server.py as CloudFront's origin group in front of both regions' APIs (the read paths fail
  over to the second region), and `trunk serve` serving the site, proxying /api/ to it (with
  --release: a release build served as CloudFront serves it, compressed, by site_server.py);
- regions.json in the state directory: each region's endpoints, for infra/local/region.py,
  which takes a whole region down and up again.

Prints the site's URL when everything answers. Ctrl-C (or SIGTERM) stops every process it
started. Ports come from the options or TWINSHARE_*_PORT variables.
"""
import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Logs, the functions' env file and the "ready" marker (holds the site URL once up).
STATE = pathlib.Path(os.environ.get("TWINSHARE_STATE_DIR", ROOT / ".local"))
REGION = "eu-west-1"
TABLE = "twinshare-files"
HEALTH_TABLE = "twinshare-health"
SEARCH_TABLE = "twinshare-search"
PRIMARY_BUCKET = "twinshare-primary"
REPLICA_REGION = "us-west-2"
REPLICA_BUCKET = "twinshare-replica"
QUEUE = "twinshare-replication"

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import iam  # noqa: E402
import provision  # noqa: E402

# What the functions must not inherit from the shell: they sign only with their own identity.
CALLER_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                      "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


class Stack:
    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.processes = []

    def start(self, name, command, cwd=ROOT, env=None, drop=()):
        log = open(self.log_dir / f"{name}.log", "w", encoding="utf-8")
        inherited = {k: v for k, v in os.environ.items() if k not in drop}
        process = subprocess.Popen(
            command, cwd=cwd, env={**inherited, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its children stop with it
        )
        self.processes.append((name, process))
        return process

    def check_alive(self):
        for name, process in self.processes:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}")

    def stop(self):
        for _, process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for _, process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def wait_for(stack, what, url, *, method="GET", body=None, accept=(200,), timeout=900):
    """Polls url until it answers with an accepted status (compilations can take minutes)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        stack.check_alive()
        request = urllib.request.Request(url, method=method, data=body, headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
        except urllib.error.HTTPError as err:
            status = err.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = None
        if status in accept:
            return
        time.sleep(0.5)
    raise SystemExit(f"{what} did not answer at {url} within {timeout} s")


def upload_settings(args):
    """The functions' upload mode, quota and per-client limits, as the template's parameters set them. In code mode
    the code is hashed by the operator's command, as an operator does before storing it in SSM."""
    settings = [f"UPLOAD_MODE={args.upload_mode}", f"STORAGE_QUOTA_BYTES={args.storage_quota}",
                f"UPLOADS_PER_HOUR_PER_CLIENT={args.uploads_per_hour}", f"BYTES_PER_DAY_PER_CLIENT={args.bytes_per_day}"]
    if args.upload_mode == "code":
        if not args.upload_code:
            raise SystemExit("--upload-mode code needs --upload-code (or TWINSHARE_UPLOAD_CODE)")
        hashed = subprocess.run(["cargo", "run", "-q", "-p", "operator", "--", "upload-code-hash"], cwd=ROOT,
                                input=args.upload_code + "\n", capture_output=True, text=True)
        if hashed.returncode != 0:
            raise SystemExit(f"could not hash the upload code: {hashed.stderr.strip()}")
        # Single-quoted: the hash's `$` would otherwise be expanded by the env file's parser.
        settings.append(f"UPLOAD_CODE_HASH='{hashed.stdout.strip()}'")
    return settings


def port_option(parser, name, default):
    env = f"TWINSHARE_{name.upper().replace('-', '_')}_PORT"
    parser.add_argument(f"--{name}-port", type=int, default=int(os.environ.get(env, default)), help=f"(env {env})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    port_option(parser, "site", 8080)
    port_option(parser, "api", 9000)
    port_option(parser, "metadata", 4566)
    port_option(parser, "primary-s3", 4567)
    port_option(parser, "replica-s3", 4568)
    port_option(parser, "second-metadata", 4569)
    port_option(parser, "second-api", 9001)
    port_option(parser, "front", 9002)
    parser.add_argument("--sweep-every", type=float, default=10.0, help="seconds between sweeps")
    parser.add_argument("--probe-every", type=float, default=3.0, help="seconds between region probes")
    parser.add_argument("--sweep-grace", type=int, default=10,
                        help="seconds a replica may stay unverified before the sweep copies it again")
    parser.add_argument("--metadata-read-timeout-ms", type=int,
                        default=int(os.environ.get("TWINSHARE_METADATA_READ_TIMEOUT_MS", 1000)),
                        help="files-api's give-up per table attempt (deployed: 300). Higher here by default: "
                             "moto reads a whole table for each Query and serves one call at a time, so a "
                             "search page takes it hundreds of ms where DynamoDB takes a few "
                             "(env TWINSHARE_METADATA_READ_TIMEOUT_MS)")
    parser.add_argument("--release", action="store_true", help="build functions and site optimised")
    parser.add_argument("--no-reload", action="store_true",
                        help="do not rebuild the functions when a file in the repository changes (the tests "
                             "and benchmarks: a reload restarts every function and drops the requests in flight)")
    parser.add_argument("--upload-mode", choices=["open", "code", "closed"],
                        default=os.environ.get("TWINSHARE_UPLOAD_MODE", "open"),
                        help="who may upload, as the template's UploadMode (env TWINSHARE_UPLOAD_MODE)")
    parser.add_argument("--upload-code", default=os.environ.get("TWINSHARE_UPLOAD_CODE"),
                        help="the upload code in code mode (env TWINSHARE_UPLOAD_CODE); only its hash "
                             "reaches the functions, as from SSM on AWS")
    parser.add_argument("--storage-quota", type=int, default=int(os.environ.get("TWINSHARE_STORAGE_QUOTA_BYTES", 0)),
                        help="bytes all live files may take, 0: none (env TWINSHARE_STORAGE_QUOTA_BYTES)")
    parser.add_argument("--uploads-per-hour", type=int, default=int(os.environ.get("TWINSHARE_UPLOADS_PER_HOUR", 0)),
                        help="uploads one client may announce per hour, 0: no limit (env TWINSHARE_UPLOADS_PER_HOUR)")
    parser.add_argument("--bytes-per-day", type=int, default=int(os.environ.get("TWINSHARE_BYTES_PER_DAY", 0)),
                        help="bytes one client may announce per day, 0: no limit (env TWINSHARE_BYTES_PER_DAY)")
    args = parser.parse_args()

    log_dir = STATE / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(log_dir)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    site_url = f"http://127.0.0.1:{args.site_port}"
    metadata_url = f"http://127.0.0.1:{args.metadata_port}"
    primary_s3_url = f"http://127.0.0.1:{args.primary_s3_port}"
    replica_s3_url = f"http://127.0.0.1:{args.replica_s3_port}"
    # The primary region's queue lives in the moto behind its S3 gateway (moto notifies only its
    # own queues); the SQS clients talk to that moto directly.
    primary_moto_url = f"http://127.0.0.1:{args.primary_s3_port + 100}"
    replica_moto_url = f"http://127.0.0.1:{args.replica_s3_port + 100}"
    api_url = f"http://127.0.0.1:{args.api_port}"
    second_metadata_url = f"http://127.0.0.1:{args.second_metadata_port}"
    second_api_url = f"http://127.0.0.1:{args.second_api_port}"
    front_url = f"http://127.0.0.1:{args.front_port}"
    policies = STATE / "policies.json"
    calls = STATE / "calls"
    try:
        names = iam.LocalNames(region=REGION, replica_region=REPLICA_REGION, table=TABLE, health_table=HEALTH_TABLE,
                               search_table=SEARCH_TABLE, bucket=PRIMARY_BUCKET, replica_bucket=REPLICA_BUCKET)
        policies.write_text(json.dumps(iam.resolved_policies(names), indent=2))
        for old in calls.glob("*.jsonl"):
            old.unlink()
        # Each emulator: moto 100 ports above its gateway, which is the endpoint the functions use.
        for name, port in (("metadata", args.metadata_port), ("primary", args.primary_s3_port),
                           ("replica", args.replica_s3_port), ("second-metadata", args.second_metadata_port)):
            stack.start(f"moto-{name}", ["moto_server", "-H", "127.0.0.1", "-p", str(port + 100)])
            stack.start(f"gateway-{name}", [sys.executable, str(ROOT / "infra/local/gateway.py"),
                                            "--listen", str(port), "--upstream", str(port + 100),
                                            "--policies", str(policies), "--record", str(calls / f"{name}.jsonl")])
        for name, url in (("metadata emulator", metadata_url), ("primary S3", primary_s3_url),
                          ("replica S3", replica_s3_url), ("second region's metadata", second_metadata_url)):
            wait_for(stack, name, url + "/moto-api/", timeout=60)
        provision.provision(
            region=REGION, dynamodb_endpoint=metadata_url, s3_endpoint=primary_s3_url, table=TABLE,
            health_table=HEALTH_TABLE, search_table=SEARCH_TABLE, streams=True,
            bucket=PRIMARY_BUCKET, origins=[site_url, f"http://localhost:{args.site_port}"],
        )
        provision.provision_tables(region=REPLICA_REGION, dynamodb_endpoint=second_metadata_url, table=TABLE,
                                   health_table=HEALTH_TABLE, search_table=SEARCH_TABLE, streams=True)
        provision.provision_replication(
            region=REGION, s3_endpoint=primary_s3_url, sqs_endpoint=primary_moto_url, bucket=PRIMARY_BUCKET,
            queue=QUEUE, replica_region=REPLICA_REGION, replica_s3_endpoint=replica_s3_url,
            replica_bucket=REPLICA_BUCKET, replica_sqs_endpoint=replica_moto_url,
            origins=[site_url, f"http://localhost:{args.site_port}"],
        )
        # DynamoDB global tables: the replayer signs as the operator (it is AWS's own service).
        stack.start("global-tables", [sys.executable, str(ROOT / "infra/local/global_tables.py"),
                                      *[arg for name in (TABLE, HEALTH_TABLE, SEARCH_TABLE) for arg in ("--table", name)],
                                      "--region", f"{REGION}={metadata_url}",
                                      "--region", f"{REPLICA_REGION}={second_metadata_url}"],
                    env={"AWS_ACCESS_KEY_ID": iam.OPERATOR_KEY, "AWS_SECRET_ACCESS_KEY": iam.OPERATOR_KEY},
                    drop=CALLER_CREDENTIALS)
        (STATE / "regions.json").write_text(json.dumps({
            REGION: {"metadata": metadata_url, "storage": primary_s3_url, "api": api_url},
            REPLICA_REGION: {"metadata": second_metadata_url, "storage": replica_s3_url, "api": second_api_url},
        }, indent=2))
        print(f"emulators up: metadata {metadata_url} and {second_metadata_url}, primary S3 {primary_s3_url} "
              f"(queue {primary_moto_url}), replica S3 {replica_s3_url} (queue {replica_moto_url})", flush=True)

        # Each function's own credentials, as Lambda gives each its role's.
        aws_config = STATE / "functions-aws-config"
        aws_config.write_text(f"[default]\ncredential_process = {sys.executable} {ROOT / 'infra/local/credentials.py'}\n")
        def env_file(region, dynamodb):
            """The functions' environment in `region`, as its stack's template sets it."""
            path = STATE / f"functions-{region}.env"
            path.write_text("\n".join(upload_settings(args) + [
                f"AWS_CONFIG_FILE={aws_config}",
                f"AWS_SHARED_CREDENTIALS_FILE={STATE / 'no-shared-credentials'}",
                f"AWS_REGION={region}",
                f"PRIMARY_REGION={REGION}",
                f"PRIMARY_BUCKET={PRIMARY_BUCKET}",
                f"TABLE_NAME={TABLE}",
                f"HEALTH_TABLE_NAME={HEALTH_TABLE}",
                f"SEARCH_TABLE_NAME={SEARCH_TABLE}",
                # Probes run every few seconds here: an older result is not trusted.
                f"HEALTH_MAX_AGE_SECS={max(10, int(args.probe_every * 5))}",
                f"PRIMARY_S3_ENDPOINT={primary_s3_url}",
                f"REPLICA_REGION={REPLICA_REGION}",
                f"REPLICA_BUCKET={REPLICA_BUCKET}",
                f"REPLICA_S3_ENDPOINT={replica_s3_url}",
                f"SWEEP_GRACE_SECS={args.sweep_grace}",
                f"METADATA_READ_TIMEOUT_MS={args.metadata_read_timeout_ms}",
                f"DYNAMODB_ENDPOINT={dynamodb}",
                "RUST_LOG=info",
            ]) + "\n")
            return path

        def watch(port, env):
            command = ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(port),
                       "--env-file", str(env)]
            return command + (["--release"] if args.release else []) + (["--ignore-changes"] if args.no_reload else [])

        stack.start("functions", watch(args.api_port, env_file(REGION, metadata_url)), drop=CALLER_CREDENTIALS)
        print("building and starting the functions (the first build takes several minutes)…", flush=True)
        # Each function is compiled on its first request: ask both once.
        wait_for(stack, "files-api", api_url + "/api/files")
        wait_for(stack, "upload-api", api_url + "/api/uploads", method="POST", body=b"{}", accept=(400, 401, 403))
        for function, fixture in (("replicate", "test-event.json"), ("sweep", "scheduled.json"),
                                  ("probe", "scheduled.json")):
            event = (ROOT / "functions" / function / "events" / fixture).read_bytes()
            wait_for(stack, function, f"{api_url}/2015-03-31/functions/{function}/invocations", method="POST", body=event)
        # The second region's: the same binaries (built above), its own region and table replica.
        stack.start("functions-second-region",
                    watch(args.second_api_port, env_file(REPLICA_REGION, second_metadata_url)),
                    drop=CALLER_CREDENTIALS)
        wait_for(stack, "second region's files-api", second_api_url + "/api/files")
        for function in ("probe", "sweep"):
            event = (ROOT / "functions" / function / "events/scheduled.json").read_bytes()
            wait_for(stack, f"second region's {function}",
                     f"{second_api_url}/2015-03-31/functions/{function}/invocations", method="POST", body=event)
        stack.start("triggers", [sys.executable, str(ROOT / "infra/local/triggers.py"), "--api", api_url,
                                 "--sqs-endpoint", primary_moto_url, "--queue", QUEUE, "--region", REGION,
                                 "--sweep-every", str(args.sweep_every), "--probe-every", str(args.probe_every)])
        stack.start("triggers-second-region", [sys.executable, str(ROOT / "infra/local/triggers.py"),
                                                "--api", second_api_url, "--region", REPLICA_REGION,
                                                "--sqs-endpoint", replica_moto_url, "--queue", QUEUE,
                                                "--sweep-every", str(args.sweep_every),
                                                "--probe-every", str(args.probe_every)])
        # CloudFront's origin groups: what the site's /api/ calls reach.
        stack.start("front", [sys.executable, str(ROOT / "infra/local/site_server.py"), "--port",
                              str(args.front_port), "--api", api_url, "--fallback-api", second_api_url])
        wait_for(stack, "front", front_url + "/api/files")
        print(f"functions up: {api_url} (second region {second_api_url}, both behind {front_url})", flush=True)

        if args.release:
            # As deployed: built once, served compressed with CloudFront's cache lives.
            subprocess.run(["trunk", "build", "--release"], cwd=ROOT / "site", check=True,
                           stdout=open(log_dir / "site-build.log", "w"), stderr=subprocess.STDOUT)
            stack.start("site", [sys.executable, str(ROOT / "infra/local/site_server.py"), "--port",
                                 str(args.site_port), "--dist", str(ROOT / "site/dist"), "--api", api_url,
                                 "--fallback-api", second_api_url])
        else:
            # Watch only the site's sources: cargo writing thousands of files under site/target
            # (and the Chromium tests under end2end/) flooded trunk 0.21's watcher, whose
            # debouncer then panicked ("index out of bounds") and took the site down mid-build.
            watched = [arg for path in ("src", "index.html", "style.css", "Cargo.toml", "Trunk.toml",
                                        "../functions/api/src") for arg in ("--watch", path)]
            stack.start("site", ["trunk", "serve", "--address", "127.0.0.1", "--port", str(args.site_port),
                                 "--proxy-backend", f"{front_url}/api/", "--proxy-no-redirect",
                                 "--disable-address-lookup", *watched], cwd=ROOT / "site")
        wait_for(stack, "site", site_url + "/")
        wait_for(stack, "site's API proxy", site_url + "/api/files")
        print(f"\ntwinshare is running: {site_url}\nlogs: {log_dir}\nCtrl-C stops it.", flush=True)
        (STATE / "ready").write_text(site_url + "\n")
        while True:
            stack.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        (STATE / "ready").unlink(missing_ok=True)
        stack.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    main()
