"""publish_site.publish against a moto S3 started here: the built site lands with the right types
and cache headers, index.html last, and a second publish removes what the new build dropped.

    python3 -m unittest infra/test_publish_site.py
"""
import gzip
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import publish_site  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto():
    """A moto server on a free port, answering: (process, its URL)."""
    port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return moto, url


def stop_moto(moto):
    moto.terminate()
    moto.wait()


class PublishSite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto, url = start_moto()
        cls.s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url,
                              aws_access_key_id="test", aws_secret_access_key="test")
        cls.s3.create_bucket(Bucket="site")

    @classmethod
    def tearDownClass(cls):
        stop_moto(cls.moto)

    def build(self, files):
        folder = pathlib.Path(tempfile.mkdtemp(prefix="twinshare-dist-"))
        for name, body in files.items():
            (folder / name).write_bytes(body)
        return folder

    def test_types_cache_headers_order_and_stale_files(self):
        first = self.build({"index.html": b"<html>1</html>", "app-1a2b.wasm": b"\0asm", "app-1a2b.js": b"js",
                            "style-9f.css": b"css"})
        uploaded, deleted = publish_site.publish(self.s3, "site", first)
        self.assertEqual(uploaded[-1], "index.html", "index.html must go last")
        self.assertEqual(deleted, [])
        wasm = self.s3.head_object(Bucket="site", Key="app-1a2b.wasm")
        self.assertEqual(wasm["ContentType"], "application/wasm")
        self.assertEqual(wasm["CacheControl"], publish_site.IMMUTABLE)
        self.assertEqual(wasm["ContentEncoding"], "gzip")
        stored = self.s3.get_object(Bucket="site", Key="app-1a2b.wasm")["Body"].read()
        self.assertEqual(gzip.decompress(stored), b"\0asm")
        self.assertNotIn("ContentEncoding", self.s3.head_object(Bucket="site", Key="app-1a2b.js"))
        index = self.s3.head_object(Bucket="site", Key="index.html")
        self.assertEqual(index["ContentType"], "text/html; charset=utf-8")
        self.assertEqual(index["CacheControl"], "no-cache")

        second = self.build({"index.html": b"<html>2</html>", "app-3c4d.wasm": b"\0asm2", "app-3c4d.js": b"js2",
                             "style-9f.css": b"css"})
        _, deleted = publish_site.publish(self.s3, "site", second)
        self.assertEqual(sorted(deleted), ["app-1a2b.js", "app-1a2b.wasm"])
        keys = sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket="site")["Contents"])
        self.assertEqual(keys, ["app-3c4d.js", "app-3c4d.wasm", "index.html", "style-9f.css"])

    def test_a_folder_without_index_html_is_refused(self):
        with self.assertRaises(SystemExit):
            publish_site.publish(self.s3, "site", self.build({"app.wasm": b"x"}))


if __name__ == "__main__":
    unittest.main()
