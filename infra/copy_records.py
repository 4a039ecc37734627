#!/usr/bin/env python3
"""The upgrade to global tables: copies every item of the files table a stack had before
(`FilesTable`, kept by CloudFormation because of its DeletionPolicy: Retain) into the global
table that replaced it (the stack's FilesTableName output), so that every file shared before
the upgrade is found and downloads again. See README "Upgrade to two regions".

- Safe while the new stack serves: an item is written only where the new table does not hold
  it yet (a conditional put), so nothing written since the upgrade is overwritten.
- Safe to run again: what was copied is skipped.
- The search index is not copied: each file record is copied without its index marker
  (`indexed_ms`), so the sweep indexes it into the new search table on its next pass. Health
  rows are not copied either: each region's probe writes them again within a minute.

    infra/copy_records.py --from twinshare-FilesTable-ABC123 --to twinshare-FilesGlobalTable-XYZ --region eu-west-1

Needs AWS credentials (the same as `sam deploy`).
"""
import argparse
import sys

import boto3
import botocore.exceptions

# What the sweep reads to know a record's search items are current (functions/aws/src/dynamo).
INDEX_MARKER = "indexed_ms"


def copy_records(dynamodb, source, target):
    """Copies every item of `source` that `target` lacks. Returns (copied, already there)."""
    copied = skipped = 0
    key_names = [k["AttributeName"] for k in dynamodb.describe_table(TableName=target)["Table"]["KeySchema"]]
    condition = " AND ".join(f"attribute_not_exists(#{i})" for i in range(len(key_names)))
    names = {f"#{i}": name for i, name in enumerate(key_names)}
    for page in dynamodb.get_paginator("scan").paginate(TableName=source, ConsistentRead=True):
        for item in page.get("Items", []):
            item.pop(INDEX_MARKER, None)
            try:
                dynamodb.put_item(TableName=target, Item=item, ConditionExpression=condition,
                                  ExpressionAttributeNames=names)
                copied += 1
            except botocore.exceptions.ClientError as err:
                if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                skipped += 1
    return copied, skipped


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", required=True, help="the old files table's name")
    parser.add_argument("--to", dest="target", required=True, help="the stack's FilesTableName output")
    parser.add_argument("--region", required=True, help="the primary stack's region")
    parser.add_argument("--endpoint", help="a DynamoDB endpoint (tests)")
    args = parser.parse_args()
    if args.source == args.target:
        sys.exit("--from and --to name the same table")
    dynamodb = boto3.client("dynamodb", region_name=args.region, endpoint_url=args.endpoint)
    copied, skipped = copy_records(dynamodb, args.source, args.target)
    print(f"copied {copied} items from {args.source} to {args.target}; {skipped} were there already")


if __name__ == "__main__":
    main()
