"""copy_records against a moto DynamoDB started here: every item of the old table reaches the
new one without its index marker, an item the new table already holds is left as it is, and a
second run copies nothing.

    python3 -m unittest infra/test_copy_records.py
"""
import pathlib
import sys
import unittest

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).parent))
sys.path.insert(0, str(pathlib.Path(__file__).parent / "local"))
import copy_records  # noqa: E402
import provision  # noqa: E402
from test_publish_site import start_moto, stop_moto  # noqa: E402


class CopyRecords(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, url = start_moto()
        cls.dynamodb = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=url,
                                    aws_access_key_id="test", aws_secret_access_key="test")
        definition = provision.table_definition(provision.load_template(), "FilesGlobalTable")
        for name in ("old-files", "new-files"):
            cls.dynamodb.create_table(TableName=name, **definition)

    @classmethod
    def tearDownClass(cls):
        stop_moto(cls.moto)

    def test_copies_what_is_missing_and_keeps_what_was_written_since(self):
        for i in range(30):
            self.dynamodb.put_item(TableName="old-files", Item={
                "id": {"S": f"file-{i:02}"}, "name": {"S": f"old {i}"}, "indexed_ms": {"N": "5"}})
        self.dynamodb.put_item(TableName="old-files", Item={"id": {"S": "tombstone#file-03"}, "at": {"N": "7"}})
        # Written by the upgraded stack before the copy ran: newer than the old table's.
        self.dynamodb.put_item(TableName="new-files", Item={"id": {"S": "file-07"}, "name": {"S": "renamed since"}})

        self.assertEqual(copy_records.copy_records(self.dynamodb, "old-files", "new-files"), (30, 1))

        items = {i["id"]["S"]: i for i in self.dynamodb.scan(TableName="new-files", ConsistentRead=True)["Items"]}
        self.assertEqual(len(items), 31)
        self.assertEqual(items["file-07"]["name"]["S"], "renamed since")
        self.assertEqual(items["file-12"]["name"]["S"], "old 12")
        self.assertNotIn("indexed_ms", items["file-12"], "the sweep indexes it into the new search table")
        self.assertEqual(items["tombstone#file-03"]["at"]["N"], "7", "deletions stay deleted")
        self.assertEqual(copy_records.copy_records(self.dynamodb, "old-files", "new-files"), (0, 31))


if __name__ == "__main__":
    unittest.main()
