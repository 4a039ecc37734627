#!/usr/bin/env python3
"""Creates the local stack's tables (in each region), buckets and replication queue in moto,
from template.yaml.

The table's keys, index and TTL, the primary bucket's CORS rules and notification filter, and
the queues' visibility timeout and redrive policy are read from the SAM template itself, so what
runs locally cannot drift from what is deployed. Idempotent: existing resources are kept.
"""
import json
import argparse
import pathlib
import sys

import boto3
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import iam  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


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


def table_definition(template, resource="FilesGlobalTable"):
    """create_table arguments (less the name) of a table resource."""
    props = template["Resources"][resource]["Properties"]
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode")
    return {key: props[key] for key in keys if key in props}


def ttl_attribute(template):
    return template["Resources"]["FilesGlobalTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"]


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


# The operator's own key (iam.py lets it do anything): the provisioner is not a function.
CREDENTIALS = {"aws_access_key_id": iam.OPERATOR_KEY, "aws_secret_access_key": iam.OPERATOR_KEY}


def queue_attributes(template, resource):
    """SQS attributes of a queue resource, less the redrive target (which is local)."""
    props = template["Resources"][resource]["Properties"]
    return {
        name: str(props[name])
        for name in ("VisibilityTimeout", "MessageRetentionPeriod")
        if name in props
    }


def notification_prefix(template, bucket_resource):
    rules = template["Resources"][bucket_resource]["Properties"]["NotificationConfiguration"]["QueueConfigurations"][0]
    return {r["Name"]: r["Value"] for r in rules["Filter"]["S3Key"]["Rules"]}["prefix"]


def when_set(value):
    """The value of a property the template sets only under a condition (`!If [cond, value,
    !Ref AWS::NoValue]`): locally, the condition holds."""
    return value["If"][1] if isinstance(value, dict) and "If" in value else value


def create_bucket(s3, bucket, region):
    if bucket in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        return
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def bucket_notifies_queue(*, template, bucket_resource, region, s3_endpoint, sqs_endpoint, bucket, queue):
    """A region's replication queue and its DLQ, and its bucket's notification to it, as the
    template makes them. S3 and SQS of the region must be one moto server: moto delivers
    notifications only to its own queues."""
    sqs = boto3.client("sqs", region_name=region, endpoint_url=sqs_endpoint, **CREDENTIALS)
    dlq_url = sqs.create_queue(QueueName=queue + "-dlq",
                               Attributes=queue_attributes(template, "ReplicationDeadLetterQueue"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = template["Resources"]["ReplicationQueue"]["Properties"]["RedrivePolicy"]
    attributes = queue_attributes(template, "ReplicationQueue")
    attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": redrive["maxReceiveCount"]})
    queue_url = sqs.create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3 = boto3.client("s3", region_name=region, endpoint_url=s3_endpoint, **CREDENTIALS)
    create_bucket(s3, bucket, region)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "Id": "replicate",
        "QueueArn": queue_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [
            {"Name": "prefix", "Value": notification_prefix(template, bucket_resource)}]}},
    }]})
    return queue_url


def provision_replication(*, region, s3_endpoint, sqs_endpoint, bucket, queue, replica_region,
                          replica_s3_endpoint, replica_bucket, replica_sqs_endpoint=None, origins=("*",)):
    """Each region's queue and its bucket's notifications: the primary's (template.yaml) and,
    with `replica_sqs_endpoint`, the second region's (infra/replica.yaml, which also lets the
    site's `origins` upload to its bucket); without it, the replica bucket only."""
    queue_url = bucket_notifies_queue(template=load_template(), bucket_resource="PrimaryBucket", region=region,
                                      s3_endpoint=s3_endpoint, sqs_endpoint=sqs_endpoint, bucket=bucket, queue=queue)
    replica = boto3.client("s3", region_name=replica_region, endpoint_url=replica_s3_endpoint, **CREDENTIALS)
    create_bucket(replica, replica_bucket, replica_region)
    if replica_sqs_endpoint:
        second = load_template(ROOT / "infra/replica.yaml")
        bucket_notifies_queue(template=second, bucket_resource="ReplicaBucket", region=replica_region,
                              s3_endpoint=replica_s3_endpoint, sqs_endpoint=replica_sqs_endpoint,
                              bucket=replica_bucket, queue=queue)
        properties = second["Resources"]["ReplicaBucket"]["Properties"]
        cors = {"Resources": {"ReplicaBucket": {"Properties": {
            "CorsConfiguration": when_set(properties["CorsConfiguration"])}}}}
        replica.put_bucket_cors(Bucket=replica_bucket,
                                CORSConfiguration={"CORSRules": cors_rules(cors, "ReplicaBucket", origins)})
    return queue_url


def stream_specification(template, resource):
    """The table's stream, as create_table takes it (global tables replicate through it)."""
    view = template["Resources"][resource]["Properties"]["StreamSpecification"]["StreamViewType"]
    return {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": view}}


def provision_tables(*, region, dynamodb_endpoint, table, health_table, search_table, streams=False):
    """One region's replica of each global table. `streams`: with the stream the template gives
    them, which infra/local/global_tables.py replays into the other region (only a stack with
    two regions' tables needs them; moto records every write in them)."""
    template = load_template()
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=dynamodb_endpoint, **CREDENTIALS)
    existing = dynamodb.list_tables()["TableNames"]
    for name, resource in ((table, "FilesGlobalTable"), (health_table, "HealthGlobalTable"),
                           (search_table, "SearchGlobalTable")):
        if name in existing:
            continue
        stream = stream_specification(template, resource) if streams else {}
        dynamodb.create_table(TableName=name, **table_definition(template, resource), **stream)
    if table not in existing:
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute(template)}
        )


def provision(*, region, dynamodb_endpoint, s3_endpoint, table, bucket, origins, health_table="twinshare-health",
              search_table="twinshare-search", streams=False):
    template = load_template()
    provision_tables(region=region, dynamodb_endpoint=dynamodb_endpoint, table=table, health_table=health_table,
                     search_table=search_table, streams=streams)
    s3 = boto3.client("s3", region_name=region, endpoint_url=s3_endpoint, **CREDENTIALS)
    create_bucket(s3, bucket, region)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors_rules(template, "PrimaryBucket", origins)})


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", required=True)
    parser.add_argument("--dynamodb-endpoint", required=True)
    parser.add_argument("--s3-endpoint", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--health-table", default="twinshare-health")
    parser.add_argument("--search-table", default="twinshare-search")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--origin", action="append", default=[], help="site origin allowed by CORS (repeatable)")
    parser.add_argument("--sqs-endpoint", help="the primary region's moto (same server as its S3)")
    parser.add_argument("--queue", default="twinshare-replication")
    parser.add_argument("--replica-region")
    parser.add_argument("--replica-s3-endpoint")
    parser.add_argument("--replica-bucket")
    parser.add_argument("--replica-sqs-endpoint",
                        help="the second region's moto (same server as its S3): its bucket notifies its own queue")
    parser.add_argument("--streams", action="store_true", help="the tables' streams (for global_tables.py)")
    parser.add_argument("--second-region", help="also the tables' replicas in this region …")
    parser.add_argument("--second-dynamodb-endpoint", help="… at this endpoint")
    args = parser.parse_args()
    if args.second_region:
        provision_tables(region=args.second_region, dynamodb_endpoint=args.second_dynamodb_endpoint,
                         table=args.table, health_table=args.health_table, search_table=args.search_table,
                         streams=args.streams)
    provision(
        region=args.region,
        dynamodb_endpoint=args.dynamodb_endpoint,
        s3_endpoint=args.s3_endpoint,
        table=args.table,
        health_table=args.health_table,
        search_table=args.search_table,
        bucket=args.bucket,
        origins=args.origin or ["*"],
        streams=args.streams,
    )
    if args.replica_bucket:
        provision_replication(
            region=args.region, s3_endpoint=args.s3_endpoint, sqs_endpoint=args.sqs_endpoint or args.s3_endpoint,
            bucket=args.bucket, queue=args.queue, replica_region=args.replica_region,
            replica_s3_endpoint=args.replica_s3_endpoint, replica_bucket=args.replica_bucket,
            replica_sqs_endpoint=args.replica_sqs_endpoint, origins=args.origin or ["*"],
        )


if __name__ == "__main__":
    main()
