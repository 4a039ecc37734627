"""global_tables.py against a moto server started here, with one table in two regions: writes
reach the other region, concurrent writes converge on the latest, a write that changed nothing
and the replayer's own writes are not sent back, and a region that stops answering catches up.

    python3 -m unittest infra/local/test_global_tables.py
"""
import pathlib
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import global_tables  # noqa: E402

A, B = "eu-west-1", "us-west-2"
TABLE = "files"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url):
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            return
        except OSError as err:
            if getattr(err, "code", None):
                return  # an HTTP answer: it listens
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def set_fault(url, mode):
    request = urllib.request.Request(url + "/__twinshare/fault", data=mode.encode(), method="PUT")
    urllib.request.urlopen(request, timeout=5).read()


class GlobalTablesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        moto_port, gateway_port = free_port(), free_port()
        cls.processes = [
            subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            # Region B is reached through a gateway, so that it can be taken down as the stack does.
            subprocess.Popen([sys.executable, str(pathlib.Path(__file__).parent / "gateway.py"),
                              "--listen", str(gateway_port), "--upstream", str(moto_port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        cls.a_url = f"http://127.0.0.1:{moto_port}"
        cls.b_url = f"http://127.0.0.1:{gateway_port}"
        wait_until_up(cls.a_url)
        wait_until_up(cls.b_url)

    @classmethod
    def tearDownClass(cls):
        for process in cls.processes:
            process.terminate()
            process.wait()

    def setUp(self):
        # A table per test: each test reads its streams from the start.
        self.table = f"{TABLE}-{self._testMethodName}"[:255]
        self.clients = {}
        for region, url in ((A, self.a_url), (B, self.b_url)):
            client = boto3.client("dynamodb", region_name=region, endpoint_url=url, **CREDENTIALS)
            client.create_table(
                TableName=self.table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
            self.clients[region] = client
        self.replayer = global_tables.GlobalTables([self.table], {A: self.a_url, B: self.b_url}, CREDENTIALS)

    def put(self, region, id, **attrs):
        item = {"id": {"S": id}, **{k: {"S": v} for k, v in attrs.items()}}
        self.clients[region].put_item(TableName=self.table, Item=item)

    def items(self, region):
        answer = self.clients[region].scan(TableName=self.table, ConsistentRead=True)
        return sorted(answer["Items"], key=lambda item: item["id"]["S"])

    def stream_length(self, region):
        client = self.clients[region]
        arn = client.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        streams = boto3.client("dynamodbstreams", region_name=region, endpoint_url=client.meta.endpoint_url,
                               **CREDENTIALS)
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return len(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"])

    def settle(self, steps=10):
        for _ in range(steps):
            self.replayer.step()
            if self.replayer.converged():
                self.replayer.step()  # reads back the last echoes
                return
        self.fail("the replayer did not converge")

    def test_a_write_in_either_region_reaches_the_other_and_is_not_echoed_back(self):
        self.put(A, "1", name="from a")
        self.put(B, "2", name="from b")
        self.settle()
        self.assertEqual(self.items(A), self.items(B))
        self.assertEqual([i["id"]["S"] for i in self.items(A)], ["1", "2"])
        for _ in range(3):
            self.assertEqual(self.replayer.step(), 0)
        # Each region's stream: its own write and the replayer's one write of the other's.
        self.assertEqual(self.stream_length(A), 2)
        self.assertEqual(self.stream_length(B), 2)

    def test_concurrent_writes_of_one_item_converge_on_the_latest_whatever_the_order(self):
        for round in range(5):
            first, second = (A, B) if round % 2 == 0 else (B, A)
            self.put(first, "same", name=f"earlier {round}")
            time.sleep(0.002)
            self.put(second, "same", name=f"later {round}")
            self.settle()
            self.assertEqual(self.items(A), self.items(B), f"round {round}")
            self.assertEqual(self.items(A)[0]["name"]["S"], f"later {round}")

    def test_writes_in_one_millisecond_converge_on_the_last_in_the_stream(self):
        # A usage counter is written several times a millisecond in a burst of uploads: the
        # stream's order, not the clock, says which is last. The clock is held still here so
        # that every write shares one millisecond, read all at once and one by one.
        still = global_tables.seconds(time.time())
        original = global_tables.seconds
        global_tables.seconds = lambda when: still
        try:
            for n in range(3):
                self.put(A, "counter", bytes=str(n))
            self.settle()
            self.assertEqual(self.items(B)[0]["bytes"]["S"], "2")
            for n in range(3, 6):
                self.put(A, "counter", bytes=str(n))
                self.replayer.step()
            self.settle()
            self.assertEqual(self.items(A), self.items(B))
            self.assertEqual(self.items(B)[0]["bytes"]["S"], "5")
        finally:
            global_tables.seconds = original

    def test_a_write_made_between_reading_and_replaying_is_not_lost(self):
        # B writes the item just before the replayer writes A's older version into B: B's stream
        # shows B's write, then the replayer's; B must end with its own, newer item, and A too.
        self.put(A, "raced", name="older, from a")
        region_b = next(r for r in self.replayer.regions if r.name == B)
        replay_into_b = region_b.write

        def b_writes_first(*args):
            region_b.write = replay_into_b
            time.sleep(0.002)
            self.put(B, "raced", name="newer, from b")
            replay_into_b(*args)

        region_b.write = b_writes_first
        self.replayer.step()
        self.assertEqual(self.items(B)[0]["name"]["S"], "older, from a", "the race happened")
        self.settle()
        self.assertEqual(self.items(A), self.items(B))
        self.assertEqual(self.items(B)[0]["name"]["S"], "newer, from b")

    def test_a_delete_replicates_and_a_later_write_wins_over_it(self):
        self.put(A, "gone", name="x")
        self.settle()
        self.clients[B].delete_item(TableName=self.table, Key={"id": {"S": "gone"}})
        self.settle()
        self.assertEqual(self.items(A), [])
        self.put(A, "gone", name="back")
        self.settle()
        self.assertEqual([i["name"]["S"] for i in self.items(B)], ["back"])

    def test_a_put_that_changes_nothing_is_not_replicated(self):
        self.put(A, "same", name="x")
        self.settle()
        before = self.stream_length(B)
        self.put(A, "same", name="x")  # moto emits a MODIFY for it; AWS emits nothing
        self.assertEqual(self.replayer.step(), 0)
        self.assertEqual(self.stream_length(B), before)

    def test_a_region_that_stops_answering_catches_up_and_keeps_its_own_writes(self):
        self.put(B, "before", name="written in b before the outage")
        set_fault(self.b_url, "down")
        try:
            self.put(A, "during", name="written in a during the outage")
            self.replayer.step()
            self.replayer.step()
            self.assertFalse(self.replayer.converged())
        finally:
            set_fault(self.b_url, "ok")
        self.settle()
        self.assertEqual(self.items(A), self.items(B))
        self.assertEqual([i["id"]["S"] for i in self.items(A)], ["before", "during"])


if __name__ == "__main__":
    unittest.main()
