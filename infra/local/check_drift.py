#!/usr/bin/env python3
"""Checks that a running local stack has what template.yaml declares: the tables' keys,
indexes, billing and TTL, the primary bucket's CORS rules and notification, and the replication
queues' settings. The provisioner reads the template; this reads the emulators back, so a
translation that went wrong (or a template change the provisioner ignores) fails the test
command.

    check_drift.py --metadata-endpoint http://127.0.0.1:14566 --primary-endpoint http://127.0.0.1:14567 \
        --origin http://127.0.0.1:18080 --origin http://localhost:18080
"""
import argparse
import json
import sys

import boto3

from provision import CREDENTIALS, load_template

REGION = "eu-west-1"
SECOND_REGION = "us-west-2"
failures = []


def expect(what, actual, wanted):
    if actual != wanted:
        failures.append(f"{what}: the local stack has {actual!r}, template.yaml says {wanted!r}")
    else:
        print(f"ok  {what}")


def check_table(dynamodb, name, props, region):
    table = dynamodb.describe_table(TableName=name)["Table"]
    name = f"{name} ({region})"
    expect(f"{name} stream", table.get("StreamSpecification", {}).get("StreamViewType"),
           props["StreamSpecification"]["StreamViewType"])
    expect(f"{name} key schema", table["KeySchema"], props["KeySchema"])
    expect(f"{name} attributes", sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]),
           sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]))
    expect(f"{name} billing", table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
           props["BillingMode"])
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        local_indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
                         for i in table.get(kind, [])}
        template_indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
                            for i in props.get(kind, [])}
        expect(f"{name} {kind}", local_indexes, template_indexes)
    if "TimeToLiveSpecification" in props:
        ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
        expect(f"{name} TTL attribute", (ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")),
               ("ENABLED", props["TimeToLiveSpecification"]["AttributeName"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metadata-endpoint", required=True)
    parser.add_argument("--second-metadata-endpoint", help="the second region's DynamoDB")
    parser.add_argument("--primary-endpoint", required=True, help="the primary region's S3 (and its SQS)")
    parser.add_argument("--origin", action="append", required=True,
                        help="the local site's origins, those CORS must allow (repeatable)")
    parser.add_argument("--table", default="twinshare-files")
    parser.add_argument("--health-table", default="twinshare-health")
    parser.add_argument("--search-table", default="twinshare-search")
    parser.add_argument("--bucket", default="twinshare-primary")
    parser.add_argument("--queue", default="twinshare-replication")
    args = parser.parse_args()
    resources = load_template()["Resources"]

    # Each region's replica of the global tables, with the stream they replicate through.
    for region, endpoint in ((REGION, args.metadata_endpoint), (SECOND_REGION, args.second_metadata_endpoint)):
        if endpoint is None:
            continue
        dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, **CREDENTIALS)
        for name, resource in ((args.table, "FilesGlobalTable"), (args.health_table, "HealthGlobalTable"),
                               (args.search_table, "SearchGlobalTable")):
            check_table(dynamodb, name, resources[resource]["Properties"], region)

    s3 = boto3.client("s3", region_name=REGION, endpoint_url=args.primary_endpoint, **CREDENTIALS)
    bucket = resources["PrimaryBucket"]["Properties"]
    local_rules = s3.get_bucket_cors(Bucket=args.bucket)["CORSRules"]
    template_rules = bucket["CorsConfiguration"]["CorsRules"]
    expect("bucket CORS rule count", len(local_rules), len(template_rules))
    for local, rule in zip(local_rules, template_rules):
        expect("bucket CORS methods", sorted(local["AllowedMethods"]), sorted(rule["AllowedMethods"]))
        expect("bucket CORS headers", local.get("AllowedHeaders", []), rule.get("AllowedHeaders", []))
        expect("bucket CORS exposed headers", local.get("ExposeHeaders", []), rule.get("ExposedHeaders", []))
        expect("bucket CORS max age", local.get("MaxAgeSeconds"), rule.get("MaxAge"))
        expect("bucket CORS origins", sorted(local["AllowedOrigins"]), sorted(args.origin))

    notification = s3.get_bucket_notification_configuration(Bucket=args.bucket)["QueueConfigurations"]
    wanted = bucket["NotificationConfiguration"]["QueueConfigurations"]
    expect("notification events", [n["Events"] for n in notification], [[w["Event"]] for w in wanted])
    expect("notification filters",
           [{r["Name"].lower(): r["Value"] for r in n["Filter"]["Key"]["FilterRules"]} for n in notification],
           [{r["Name"]: r["Value"] for r in w["Filter"]["S3Key"]["Rules"]} for w in wanted])

    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=args.primary_endpoint, **CREDENTIALS)
    for queue, resource in ((args.queue, "ReplicationQueue"), (args.queue + "-dlq", "ReplicationDeadLetterQueue")):
        props = resources[resource]["Properties"]
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if name in props:
                expect(f"{queue} {name}", attributes.get(name), str(props[name]))
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
            expect(f"{queue} redrive after", int(redrive.get("maxReceiveCount", 0)),
                   int(props["RedrivePolicy"]["maxReceiveCount"]))
            expect(f"{queue} redrive target", redrive.get("deadLetterTargetArn", "").rsplit(":", 1)[-1],
                   args.queue + "-dlq")

    if failures:
        print("\nthe local stack has drifted from template.yaml:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("the local stack matches template.yaml")


if __name__ == "__main__":
    main()
