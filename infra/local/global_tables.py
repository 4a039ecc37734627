#!/usr/bin/env python3
"""Plays DynamoDB global tables for the local stack: each region's table is replayed from its
stream into the other regions' tables, as AWS replicates a global table's replicas.

moto has no global tables (it accepts `ReplicaUpdates` and ignores them), but its Streams work
(DESIGN.md §8). What AWS promises, and what this keeps:

- **Last writer wins on the whole item**: every write carries its time in its own region (the
  stream record's `ApproximateCreationDateTime`, to the millisecond; ties between regions go to
  the region named last, and between two writes in one region to the later in its stream, by
  sequence number); a region ends with the item of the latest write, whatever the order in
  which the streams are read.
- **Idempotent**: moto emits a MODIFY even for a put that changes nothing (AWS emits none):
  such a record is not a write and is not replicated.
- **No echo**: writing into a region's table emits a record there too; the replayer knows the
  writes it made and does not send them back.
- **A region that does not answer** is skipped, its stream read from where it stopped once it
  answers again; what it missed is written then.

The race a replayer must survive: a region writes an item locally just before the replayer
writes an older version of it there. Its stream then shows the local write, then the replayer's;
once the replayer reads its own (older) write back, it writes the winner again.

    python3 infra/local/global_tables.py --table twinshare-files --table twinshare-health \\
        --region eu-west-1=http://127.0.0.1:4566 --region us-west-2=http://127.0.0.1:4576
"""
import argparse
import datetime
import sys
import time

import boto3
import botocore.config
import botocore.exceptions

# A write's version: (its time, its region, its sequence number in that region's stream).
# The oldest possible version: anything written beats it.
NEVER = (0.0, "", 0)


def seconds(when):
    """A stream record's time as seconds since the epoch (boto3 parses it to a datetime)."""
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return when.timestamp()
    return float(when)


def key_of(keys):
    """A hashable form of a record's key attributes."""
    return tuple(sorted((name, tuple(sorted(value.items()))) for name, value in keys.items()))


class Region:
    """One region's endpoint: its table clients, stream readers and what the replayer knows of
    the items it holds."""

    def __init__(self, name, endpoint, credentials):
        config = botocore.config.Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
        common = dict(region_name=name, endpoint_url=endpoint, config=config, **credentials)
        self.name = name
        self.tables = boto3.client("dynamodb", **common)
        self.streams = boto3.client("dynamodbstreams", **common)
        # table -> (shard iterator, last sequence number read)
        self.readers = {}
        # (table, key) -> version of the item this region holds, as far as the replayer knows
        self.holds = {}
        # (table, key) -> [(version, image)] written here by the replayer, not yet read back
        self.echoes = {}

    def records(self, table):
        """The records of the table's stream not read yet (at most one page)."""
        iterator, last = self.readers.get(table, (None, None))
        if iterator is None:
            arn = self.tables.describe_table(TableName=table)["Table"]["LatestStreamArn"]
            shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
            where = {"ShardIteratorType": "TRIM_HORIZON"} if last is None else {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
            iterator = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **where)["ShardIterator"]
        try:
            page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
        except botocore.exceptions.ClientError:
            self.readers[table] = (None, last)  # an expired iterator: start again after `last`
            raise
        records = page.get("Records", [])
        if records:
            last = records[-1]["dynamodb"]["SequenceNumber"]
        self.readers[table] = (page.get("NextShardIterator"), last)
        return records

    def forget_reader(self, table):
        """After a failure, the next read asks for a new iterator after the last record read."""
        _, last = self.readers.get(table, (None, None))
        self.readers[table] = (None, last)

    def write(self, table, keys, version, image):
        """Puts the winner's image (or deletes the item), remembering it as an echo to skip."""
        if image is None:
            self.tables.delete_item(TableName=table, Key=keys)
        else:
            self.tables.put_item(TableName=table, Item=image)
        self.echoes.setdefault((table, key_of(keys)), []).append((version, image))
        self.holds[(table, key_of(keys))] = version


class GlobalTables:
    def __init__(self, tables, regions, credentials=None):
        """`regions`: name -> endpoint URL; `credentials`: boto3's keyword arguments, or its
        default chain (the environment) when None."""
        credentials = credentials or {}
        self.table_names = list(tables)
        self.regions = [Region(name, endpoint, credentials) for name, endpoint in regions.items()]
        # (table, key) -> (version, keys, image): the latest write seen in any region
        self.winners = {}
        # keys some region may lack the winner of: checked at the end of each step
        self.dirty = set()
        self.unreachable = set()

    def step(self):
        """Reads every region's streams once and writes what each region lacks. Returns how many
        writes were replicated."""
        replicated = 0
        for region in self.regions:
            for table in self.table_names:
                try:
                    records = region.records(table)
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
                    region.forget_reader(table)
                    self.note_unreachable(region, err)
                    continue
                self.note_reachable(region)
                for record in records:
                    self.read(region, table, record)
        for table, key in list(self.dirty):
            version, keys, image = self.winners[(table, key)]
            done = True
            for region in self.regions:
                if region.holds.get((table, key), NEVER) >= version or self.pending(region, table, key, version):
                    continue
                try:
                    region.write(table, keys, version, image)
                    replicated += 1
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as err:
                    self.note_unreachable(region, err)
                    done = False  # written once the region answers
            if done:
                self.dirty.discard((table, key))
        return replicated

    def read(self, region, table, record):
        """One record of `region`'s stream: the replayer's own write read back, a write that
        changed nothing, or a write made in the region."""
        data = record["dynamodb"]
        keys = data["Keys"]
        key = (table, key_of(keys))
        image = data.get("NewImage") if record["eventName"] != "REMOVE" else None
        echoes = region.echoes.get(key, [])
        for i, (version, written) in enumerate(echoes):
            if written == image:
                del echoes[: i + 1]
                region.holds[key] = version  # the region now holds that version, maybe not the latest
                if key in self.winners and version < self.winners[key][0]:
                    self.dirty.add(key)
                return
        if record["eventName"] == "MODIFY" and data.get("NewImage") == data.get("OldImage"):
            return  # moto's record of a put that changed nothing: AWS emits none
        # Two writes of a hot item (a usage counter) often share a millisecond: its sequence
        # number says which came last, or a region would keep one image and send the other.
        version = (seconds(data["ApproximateCreationDateTime"]), region.name, int(data["SequenceNumber"]))
        region.holds[key] = version
        if version > self.winners.get(key, (NEVER,))[0]:
            self.winners[key] = (version, keys, image)
        self.dirty.add(key)

    @staticmethod
    def pending(region, table, key, version):
        return any(v == version for v, _ in region.echoes.get((table, key), []))

    def note_unreachable(self, region, err):
        if region.name not in self.unreachable:
            print(f"{region.name}: unreachable ({err.__class__.__name__}); catching up when it answers", flush=True)
            self.unreachable.add(region.name)

    def note_reachable(self, region):
        if region.name in self.unreachable:
            print(f"{region.name}: answers again", flush=True)
            self.unreachable.discard(region.name)

    def converged(self):
        """Every region holds every item's latest write, as far as the replayer knows."""
        return all(
            region.holds.get(key, NEVER) >= version and not region.echoes.get(key)
            for key, (version, _, _) in self.winners.items()
            for region in self.regions
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", action="append", required=True, help="a table in every region (repeat)")
    parser.add_argument("--region", action="append", required=True, metavar="NAME=ENDPOINT",
                        help="a region and its DynamoDB endpoint (repeat)")
    parser.add_argument("--every", type=float, default=0.2, help="seconds between reads of the streams")
    args = parser.parse_args()
    regions = dict(spec.split("=", 1) for spec in args.region)
    replayer = GlobalTables(args.table, regions)
    print(f"replicating {', '.join(args.table)} between {', '.join(regions)}", flush=True)
    while True:
        replayer.step()
        time.sleep(args.every)


if __name__ == "__main__":
    sys.exit(main())
