#!/usr/bin/env python3
"""Plays AWS's part for the functions that are not HTTP, on the local stack.

- Lambda's SQS integration: long-polls the replication queue, invokes `replicate` through
  `cargo lambda watch` with a real SQS event (up to 10 messages), and deletes only the messages
  the function did not report in `batchItemFailures`. A failed invocation deletes nothing. As on
  AWS, what is not deleted reappears after the queue's visibility timeout, and after
  maxReceiveCount receives moto moves it to the dead-letter queue.
- EventBridge Scheduler: invokes `sweep` every --sweep-every seconds and `probe` every
  --probe-every seconds (each with its committed scheduled-event fixture).

One runs per region, each with its own queue and functions.
"""
import argparse
import json
import pathlib
import threading
import time
import urllib.error
import urllib.request

import boto3

ROOT = pathlib.Path(__file__).resolve().parents[2]


def invoke(api, function, event, timeout=900):
    """Invokes a function as `cargo lambda invoke` does; returns its JSON answer or raises."""
    request = urllib.request.Request(
        f"{api}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(), method="POST", headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read() or b"null")
    if isinstance(answer, dict) and "errorType" in answer:
        raise RuntimeError(f"{function} failed: {answer.get('errorType')}: {answer.get('errorMessage')}")
    return answer


def sqs_record(message, queue_arn, region):
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def poll_queue(api, sqs, queue_url, region):
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    while True:
        try:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
        except Exception as err:  # the region's queue is unreachable: try again shortly
            print(f"receive failed: {err}", flush=True)
            time.sleep(1)
            continue
        if not messages:
            continue
        try:
            answer = invoke(api, "replicate", {"Records": [sqs_record(m, queue_arn, region) for m in messages]})
        except (OSError, RuntimeError, ValueError) as err:
            print(f"replicate invocation failed, {len(messages)} messages left for retry: {err}", flush=True)
            continue
        failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        print(f"replicate: {len(done)} done, {len(failed)} left for retry", flush=True)


def timer(api, function, every):
    event = json.loads((ROOT / "functions" / function / "events/scheduled.json").read_text())
    while True:
        time.sleep(every)
        try:
            print(f"{function}: {json.dumps(invoke(api, function, event))}", flush=True)
        except (OSError, RuntimeError, ValueError) as err:
            print(f"{function} failed: {err}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", required=True, help="cargo lambda watch, e.g. http://127.0.0.1:9000")
    parser.add_argument("--sqs-endpoint")
    parser.add_argument("--queue", required=True, help="the region's replication queue")
    parser.add_argument("--region", required=True)
    parser.add_argument("--sweep-every", type=float, default=10.0, help="0: no sweep")
    parser.add_argument("--probe-every", type=float, default=3.0)
    args = parser.parse_args()
    sqs = boto3.client("sqs", region_name=args.region, endpoint_url=args.sqs_endpoint,
                       aws_access_key_id="twinshare-local", aws_secret_access_key="twinshare-local")
    queue_url = sqs.get_queue_url(QueueName=args.queue)["QueueUrl"]
    timers = [("probe", args.probe_every)] + ([("sweep", args.sweep_every)] if args.sweep_every > 0 else [])
    for function, every in timers:
        threading.Thread(target=timer, args=(args.api, function, every), daemon=True).start()
    poll_queue(args.api, sqs, queue_url, args.region)


if __name__ == "__main__":
    main()
