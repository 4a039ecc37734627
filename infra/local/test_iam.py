"""Unit tests of iam.py: the template's policies resolved to local names, requests classified as
IAM authorizes them, and the evaluator refusing what a narrowed policy no longer allows."""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import iam  # noqa: E402

NAMES = iam.LocalNames(region="eu-west-1", replica_region="us-west-2", table="files", health_table="health",
                       search_table="search", bucket="primary", replica_bucket="replica")
FILES_TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/files"
SEARCH_TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/search"


def signed(function, service, region="eu-west-1"):
    credential = f"{iam.access_key(function)}/20261125/{region}/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0"}


class ResolvedPolicies(unittest.TestCase):
    policies = iam.resolved_policies(NAMES)

    def test_every_function_has_its_policies_with_local_names(self):
        self.assertEqual(set(self.policies), {"upload-api", "files-api", "replicate", "sweep", "probe",
                                              "files-api@us-west-2", "probe@us-west-2", "upload-api@us-west-2",
                                              "replicate@us-west-2", "sweep@us-west-2"})
        text = repr(self.policies)
        self.assertNotIn("${", text)
        self.assertNotIn("123456789012-eu-west-1-primary", text)  # renamed to the local bucket
        self.assertIn("arn:aws:s3:::replica/files/*", repr(self.policies["files-api"]))
        # The second region's uploads go to its own bucket only; its replicate writes the primary's.
        second_uploads = self.policies["upload-api@us-west-2"]
        self.assertTrue(iam.allows(second_uploads, "s3:PutObject", "arn:aws:s3:::replica/files/abc"))
        self.assertFalse(iam.allows(second_uploads, "s3:PutObject", "arn:aws:s3:::primary/files/abc"))
        self.assertTrue(iam.allows(self.policies["replicate@us-west-2"], "s3:PutObject", "arn:aws:s3:::primary/files/abc"))
        # The second region's sweep scans its own replica of the table, never the primary's.
        second_sweep = self.policies["sweep@us-west-2"]
        self.assertTrue(iam.allows(second_sweep, "dynamodb:Scan", "arn:aws:dynamodb:us-west-2:123456789012:table/files"))
        self.assertFalse(iam.allows(second_sweep, "dynamodb:Scan", FILES_TABLE))

    def test_index_and_prefix_are_exact(self):
        files = self.policies["files-api"]
        self.assertTrue(iam.allows(files, "dynamodb:Query", SEARCH_TABLE + "/index/by-name"))
        self.assertTrue(iam.allows(files, "dynamodb:Query", SEARCH_TABLE))
        self.assertFalse(iam.allows(files, "dynamodb:Query", FILES_TABLE + "/index/by-name"))
        self.assertFalse(iam.allows(files, "dynamodb:BatchWriteItem", SEARCH_TABLE), "reads never write the index")
        self.assertTrue(iam.allows(self.policies["upload-api"], "dynamodb:BatchWriteItem", SEARCH_TABLE))
        self.assertTrue(iam.allows(files, "s3:GetObject", "arn:aws:s3:::primary/files/abc"))
        self.assertFalse(iam.allows(files, "s3:GetObject", "arn:aws:s3:::primary/health/abc"))
        self.assertFalse(iam.allows(files, "s3:PutObject", "arn:aws:s3:::primary/files/abc"))

    def test_the_second_regions_functions_read_their_own_replica_and_write_nothing_but_health(self):
        files = self.policies["files-api@us-west-2"]
        second = "arn:aws:dynamodb:us-west-2:123456789012:table/"
        self.assertTrue(iam.allows(files, "dynamodb:GetItem", second + "files"))
        self.assertTrue(iam.allows(files, "dynamodb:Query", second + "search/index/by-size"))
        self.assertFalse(iam.allows(files, "dynamodb:GetItem", FILES_TABLE), "the primary region's replica")
        for action in ("dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"):
            self.assertFalse(iam.allows(files, action, second + "files"), f"{action}: one writer region per item")
            self.assertFalse(iam.allows(files, action, second + "search"), action)
        self.assertTrue(iam.allows(files, "s3:GetObject", "arn:aws:s3:::replica/files/abc"))
        self.assertTrue(iam.allows(files, "s3:GetObject", "arn:aws:s3:::primary/files/abc"))
        probe = self.policies["probe@us-west-2"]
        self.assertTrue(iam.allows(probe, "dynamodb:PutItem", second + "health"))
        self.assertFalse(iam.allows(probe, "dynamodb:PutItem", second + "files"))
        self.assertTrue(iam.allows(probe, "s3:PutObject", "arn:aws:s3:::primary/health/canary"))

    def test_removing_an_action_or_narrowing_a_resource_refuses_the_call(self):
        upload = self.policies["upload-api"]
        self.assertTrue(iam.allows(upload, "dynamodb:UpdateItem", FILES_TABLE))
        self.assertFalse(iam.allows(iam.without_action(upload, "dynamodb:UpdateItem"), "dynamodb:UpdateItem", FILES_TABLE))
        # No function deletes a record: the table's TTL does, once a removal has settled.
        self.assertFalse(iam.allows(upload, "dynamodb:DeleteItem", FILES_TABLE))
        narrowed = iam.with_resource_replaced(upload, "arn:aws:s3:::primary/files/*", "arn:aws:s3:::primary/files/x/*")
        self.assertFalse(iam.allows(narrowed, "s3:AbortMultipartUpload", "arn:aws:s3:::primary/files/abc"))
        self.assertTrue(iam.allows(narrowed, "s3:AbortMultipartUpload", "arn:aws:s3:::primary/files/x/abc"))


class Classify(unittest.TestCase):
    def test_dynamodb_calls_name_their_table_and_index(self):
        headers = signed("files-api", "dynamodb") | {"X-Amz-Target": "DynamoDB_20120810.Query"}
        key, calls = iam.classify("POST", "/", headers, b'{"TableName":"search","IndexName":"by-size"}')
        self.assertEqual(iam.function_of(key), "files-api")
        self.assertEqual(calls, [("dynamodb:Query", SEARCH_TABLE + "/index/by-size")])
        headers["X-Amz-Target"] = "DynamoDB_20120810.BatchGetItem"
        _, calls = iam.classify("POST", "/", headers, b'{"RequestItems":{"health":{},"files":{}}}')
        self.assertEqual([a for a, _ in calls], ["dynamodb:BatchGetItem"] * 2)
        headers["X-Amz-Target"] = "DynamoDB_20120810.TransactWriteItems"
        body = b'{"TransactItems":[{"Delete":{"TableName":"files"}},{"ConditionCheck":{"TableName":"health"}}]}'
        _, calls = iam.classify("POST", "/", headers, body)
        self.assertEqual([a for a, _ in calls], ["dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"])

    def test_s3_requests_and_presigned_urls(self):
        headers = signed("upload-api", "s3")
        cases = [
            ("HEAD", "/primary/files/a", {}, [("s3:GetObject", "arn:aws:s3:::primary/files/a")]),
            ("DELETE", "/primary/files/a?uploadId=1", {}, [("s3:AbortMultipartUpload", "arn:aws:s3:::primary/files/a")]),
            ("GET", "/primary/files/a?uploadId=1", {}, [("s3:ListMultipartUploadParts", "arn:aws:s3:::primary/files/a")]),
            ("POST", "/primary/files/a?uploads", {}, [("s3:PutObject", "arn:aws:s3:::primary/files/a")]),
            ("GET", "/primary?list-type=2&prefix=files/", {}, [("s3:ListBucket", "arn:aws:s3:::primary")]),
            ("PUT", "/replica/files/a", {"x-amz-copy-source": "/primary/files/a"},
             [("s3:PutObject", "arn:aws:s3:::replica/files/a"), ("s3:GetObject", "arn:aws:s3:::primary/files/a")]),
        ]
        for method, path, extra, expected in cases:
            with self.subTest(f"{method} {path}"):
                self.assertEqual(iam.classify(method, path, headers | extra, b"")[1], expected)
        presigned = "/primary/files/a?X-Amz-Credential=twinshare-fn-upload-api%2F20261125%2Feu-west-1%2Fs3%2Faws4_request"
        key, calls = iam.classify("PUT", presigned, {}, b"")
        self.assertEqual((iam.function_of(key), calls), ("upload-api", [("s3:PutObject", "arn:aws:s3:::primary/files/a")]))

    def test_who_is_not_checked(self):
        self.assertEqual(iam.classify("OPTIONS", "/primary/files/a", {}, b"")[1], [])
        self.assertIsNone(iam.function_of(iam.OPERATOR_KEY))
        self.assertEqual(iam.function_of(None), "anonymous")


if __name__ == "__main__":
    unittest.main()
