#!/usr/bin/env python3
"""Publishes the site to a deployed twinshare: builds it (trunk, release), uploads site/dist to
the stack's private site bucket and to its copy in the second region (infra/replica.yaml's
SiteCopyBucket, once that stack has one), removes what the new build no longer has, and
invalidates CloudFront's copy of index.html. Prints the site's URL.

    infra/publish_site.py                       # the stack of samconfig.toml's default environment
    infra/publish_site.py --stack twinshare --region eu-west-1 --skip-build
    infra/publish_site.py --unpublish           # empties the site bucket (before `sam delete`)

Needs AWS credentials (the same as `sam deploy`).
"""
import argparse
import gzip
import mimetypes
import pathlib
import subprocess
import sys
import time
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIST = ROOT / "site" / "dist"

# trunk names every asset by its content hash: they never change, so browsers may keep them.
# index.html names the current assets: it must always be fetched again.
IMMUTABLE = "public, max-age=31536000, immutable"
ALWAYS_REVALIDATE = "no-cache"
TYPES = {".wasm": "application/wasm", ".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8"}
# CloudFront compresses only the content types on its list (JavaScript, CSS, HTML among them);
# the wasm, the bulk of the site (≈1 MB, ≈350 KiB gzip), is stored gzipped so that it is served
# compressed whatever that list holds: CloudFront passes on an object that already has a
# Content-Encoding without compressing it again. Every browser that runs wasm accepts gzip.
PRECOMPRESSED = {".wasm"}


def content_type(path):
    return TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def publish(s3, bucket, dist=DIST):
    """Uploads every file of `dist` (index.html last, so it never names an asset not yet there)
    and deletes objects the build no longer has. Returns (uploaded keys, deleted keys)."""
    files = sorted((p for p in dist.rglob("*") if p.is_file()), key=lambda p: p.name == "index.html")
    if not any(p.name == "index.html" for p in files):
        raise SystemExit(f"{dist} has no index.html: build the site first (trunk build --release)")
    uploaded = []
    for path in files:
        key = path.relative_to(dist).as_posix()
        body, encoding = path.read_bytes(), {}
        if path.suffix in PRECOMPRESSED:
            body, encoding = gzip.compress(body, 9, mtime=0), {"ContentEncoding": "gzip"}
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(path), **encoding,
                      CacheControl=ALWAYS_REVALIDATE if path.name == "index.html" else IMMUTABLE)
        uploaded.append(key)
    stale = [key for key in bucket_keys(s3, bucket) if key not in set(uploaded)]
    delete_keys(s3, bucket, stale)
    return uploaded, stale


def bucket_keys(s3, bucket):
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]


def delete_keys(s3, bucket, keys):
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})


def stack_outputs(stack, region):
    import boto3

    described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}


def default_stack(environment="default"):
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deploy = config[environment]["deploy"]["parameters"]
    return deploy["stack_name"], deploy["region"]


def site_buckets(args):
    """[(S3 client, bucket)]: the primary's site bucket, and the second region's copy if its
    stack has one."""
    import boto3

    outputs = stack_outputs(args.stack, args.region)
    buckets = [(boto3.client("s3", region_name=args.region), outputs["SiteBucketName"])]
    try:
        copy = stack_outputs(args.second_stack, args.second_region).get("SiteCopyBucketName")
    except Exception as err:  # noqa: BLE001  (no second stack: one bucket)
        print(f"no site copy in {args.second_region} ({err.__class__.__name__}): publishing to one region")
        copy = None
    if copy:
        buckets.append((boto3.client("s3", region_name=args.second_region), copy))
    return outputs, buckets


def main():
    stack_name, region = default_stack()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    second_stack, second_region = default_stack("replica")
    parser.add_argument("--stack", default=stack_name)
    parser.add_argument("--region", default=region)
    parser.add_argument("--second-stack", default=second_stack, help="infra/replica.yaml's stack")
    parser.add_argument("--second-region", default=second_region)
    parser.add_argument("--skip-build", action="store_true", help="publish site/dist as it is")
    parser.add_argument("--unpublish", action="store_true", help="empty the site bucket, so the stack can be deleted")
    args = parser.parse_args()

    import boto3

    outputs, buckets = site_buckets(args)
    if args.unpublish:
        for s3, bucket in buckets:
            keys = bucket_keys(s3, bucket)
            delete_keys(s3, bucket, keys)
            print(f"removed {len(keys)} files from {bucket}")
        return
    if not args.skip_build:
        subprocess.run(["trunk", "build", "--release"], cwd=ROOT / "site", check=True)
    # The second region's copy first: once the primary's index.html names the new assets, the
    # copy the origin group may fall back to already has them.
    for s3, bucket in reversed(buckets):
        uploaded, deleted = publish(s3, bucket)
        print(f"{bucket}: uploaded {len(uploaded)} files, removed {len(deleted)} stale ones")
    cloudfront = boto3.client("cloudfront")
    cloudfront.create_invalidation(
        DistributionId=outputs["SiteDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 2, "Items": ["/", "/index.html"]},
                           "CallerReference": f"publish-{time.time_ns()}"},
    )
    print(f"published: {outputs['SiteUrl']}  (CloudFront serves the new index.html within a minute or two)")


if __name__ == "__main__":
    sys.exit(main())
