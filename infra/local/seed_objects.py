#!/usr/bin/env python3
"""Writes a small object under each key read from --keys (one per line) into a bucket of an
emulated S3, 16 at a time. The sweep benchmark seeds its buckets with it: moto takes boto3's
PUTs about four times as fast as the Rust SDK's, and the seeding is not what is measured."""
import argparse
import concurrent.futures

import boto3

BODY = b"sixteen bytes!!!"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--keys", required=True, help="a file of keys, one per line")
    args = parser.parse_args()
    s3 = boto3.client("s3", endpoint_url=args.endpoint, region_name=args.region,
                      aws_access_key_id="twinshare-local", aws_secret_access_key="twinshare-local")
    with open(args.keys) as keys:
        wanted = [line.strip() for line in keys if line.strip()]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for _ in pool.map(lambda key: s3.put_object(Bucket=args.bucket, Key=key, Body=BODY), wanted):
            pass


if __name__ == "__main__":
    main()
