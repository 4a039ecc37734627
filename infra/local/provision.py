#!/usr/bin/env python3
"""Creates the local stack's table and bucket in moto, from template.yaml.

The table's keys, index, TTL and the bucket's CORS rules are read from the SAM template itself,
so what runs locally cannot drift from what is deployed. Idempotent: existing resources are kept.
"""
import argparse
import pathlib

import boto3
import yaml

TEMPLATE = pathlib.Path(__file__).resolve().parents[2] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, …) as plain {tag: value} maps."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CfnLoader.add_multi_constructor("!", _tagged)


def load_template(path=TEMPLATE):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


def table_definition(template):
    """create_table arguments (less the name) of the FilesTable resource."""
    props = template["Resources"]["FilesTable"]["Properties"]
    return {
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"],
        "BillingMode": props["BillingMode"],
    }


def ttl_attribute(template):
    return template["Resources"]["FilesTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"]


def cors_rules(template, bucket_resource, origins):
    """The bucket's CORS rules in S3 API form, with the template's origin replaced by ours."""
    rules = template["Resources"][bucket_resource]["Properties"]["CorsConfiguration"]["CorsRules"]
    return [
        {
            "AllowedOrigins": list(origins),
            "AllowedMethods": rule["AllowedMethods"],
            "AllowedHeaders": rule.get("AllowedHeaders", []),
            "ExposeHeaders": rule.get("ExposedHeaders", []),
            "MaxAgeSeconds": rule.get("MaxAge", 0),
        }
        for rule in rules
    ]


def provision(*, region, dynamodb_endpoint, s3_endpoint, table, bucket, origins):
    template = load_template()
    credentials = {"aws_access_key_id": "twinshare-local", "aws_secret_access_key": "twinshare-local"}
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=dynamodb_endpoint, **credentials)
    if table not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(TableName=table, **table_definition(template))
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute(template)}
        )
    s3 = boto3.client("s3", region_name=region, endpoint_url=s3_endpoint, **credentials)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors_rules(template, "PrimaryBucket", origins)})


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", required=True)
    parser.add_argument("--dynamodb-endpoint", required=True)
    parser.add_argument("--s3-endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--origin", action="append", default=[], help="site origin allowed by CORS (repeatable)")
    args = parser.parse_args()
    provision(
        region=args.region,
        dynamodb_endpoint=args.dynamodb_endpoint,
        s3_endpoint=args.s3_endpoint,
        table=args.table,
        bucket=args.bucket,
        origins=args.origin or ["*"],
    )


if __name__ == "__main__":
    main()
