#!/usr/bin/env python3
"""A small HTTP gateway in front of a moto server: one region's S3, or the metadata's DynamoDB.

It holds every signed call to the calling function's own policy from template.yaml, as IAM does
on AWS (iam.py: exact tables, indexes, buckets and key prefixes; presigned URLs are held to the
policy of the function that signed them). A refused call gets AWS's AccessDenied answer and
never reaches moto; every decision is recorded for the tests (`--record`).

It streams every request to moto and back, and makes moto answer as S3 does where it differs:
- on a GET, the `response-content-disposition` / `response-content-type` / … query parameters of
  a presigned URL become the response's headers (so the browser saves a download under its name);
- CompleteMultipartUpload and ListParts answer with S3's root elements (`…Result`; moto writes
  `…Response`, which the Rust SDK rightly refuses), and ListParts with each part's
  `ChecksumSHA256` (moto leaves it out; the completion computes a file's identity from them);
- a PUT (object or part) whose body does not match its `x-amz-checksum-sha256` is refused with
  S3's `400 BadDigest` and never reaches moto, which does not check checksums;
- DynamoDB writes reach moto one at a time per table: moto runs requests in threads, checks a
  condition and applies the write as separate steps, and undoes a cancelled transaction by
  restoring a copy of the tables it touched taken before it, which would drop other requests'
  writes made meanwhile. DynamoDB applies each write (and each transaction) atomically; one at a
  time, moto does too, so tests of conditions under concurrency (the quota, download limits)
  are faithful.

Being the region's front door, it is also where the local stack takes that region's storage
down on its own while the metadata stays up:

    curl -X PUT --data down http://127.0.0.1:4567/__twinshare/fault   # drop every connection
    curl -X PUT --data hang http://127.0.0.1:4567/__twinshare/fault   # accept, never answer
    curl -X PUT --data ok   http://127.0.0.1:4567/__twinshare/fault   # back to normal

    gateway.py --listen 4567 --upstream 4667 --policies policies.json --record calls.jsonl
"""
import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import pathlib
import re
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import iam  # noqa: E402

CHUNK = 1024 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
# DynamoDB calls that write: forwarded one at a time per table (see the module's docstring).
DYNAMODB_WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TABLE_LOCKS = {}
TABLE_LOCKS_GUARD = threading.Lock()


def tables_written(body):
    """The tables a DynamoDB write names, sorted (the order locks are taken in)."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return []
    names = {request.get("TableName")} | set(request.get("RequestItems", {}))
    for item in request.get("TransactItems", []):
        names |= {op.get("TableName") for op in item.values() if isinstance(op, dict)}
    return sorted(name for name in names if name)


@contextlib.contextmanager
def writing(tables):
    """Holds the write lock of each table: moto applies one write per table at a time."""
    with TABLE_LOCKS_GUARD:
        locks = [TABLE_LOCKS.setdefault(name, threading.Lock()) for name in tables]
    with contextlib.ExitStack() as held:
        for lock in locks:
            held.enter_context(lock)
        yield
# Presigned GET parameters that S3 turns into response headers.
OVERRIDES = {
    "response-content-disposition": "Content-Disposition",
    "response-content-type": "Content-Type",
    "response-cache-control": "Cache-Control",
    "response-content-language": "Content-Language",
    "response-content-encoding": "Content-Encoding",
    "response-expires": "Expires",
}

# Answers (by method, on an `uploadId` URL) whose root element moto names `…Response`.
ROOT_ELEMENTS = {"POST": b"CompleteMultipartUpload", "GET": b"ListParts"}

# The SHA-256 each part was sent with, by (upload id, part number): S3 lists it with the part
# (`ChecksumSHA256`), moto does not. Checked before moto got the part (send_body).
PART_CHECKSUMS = {}


def with_part_checksums(upload_id, body):
    """A ListParts answer with each part's `ChecksumSHA256`, as S3 gives it."""
    def add(match):
        checksum = PART_CHECKSUMS.get((upload_id, match.group(1).decode()))
        return match.group(0) + (b"<ChecksumSHA256>" + checksum.encode() + b"</ChecksumSHA256>" if checksum else b"")
    return re.sub(rb"<PartNumber>(\d+)</PartNumber>", add, body)


FAULT_PATH = "/__twinshare/fault"
FAULTS = ("ok", "down", "hang")


class Fault:
    """The region's current fault, shared by the gateway's threads."""

    def __init__(self):
        self.mode = "ok"
        self.changed = threading.Condition()

    def set(self, mode):
        with self.changed:
            self.mode = mode
            self.changed.notify_all()

    def wait_while_hanging(self, limit=600):
        with self.changed:
            self.changed.wait_for(lambda: self.mode != "hang", timeout=limit)


def make_handler(upstream_port, fault, policies=None, recorder=None):
    """policies (iam.PolicyBook) and recorder (iam.Recorder): None to let every call through."""

    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in separate writes: with Nagle's algorithm on, the body waits
        # for the client's delayed ACK, 40 ms a call (every AWS call of the stack crosses here).
        disable_nagle_algorithm = True

        def log_message(self, *args):  # moto logs every request already
            pass

        def control(self):
            length = int(self.headers.get("Content-Length") or 0)
            mode = self.rfile.read(length).decode().strip() if self.command == "PUT" else fault.mode
            status = 200 if mode in FAULTS else 400
            if status == 200 and self.command == "PUT":
                fault.set(mode)
                print(f"fault: {mode}", flush=True)
            body = (mode if status == 200 else f"unknown fault {mode!r}; use one of {FAULTS}").encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def forward(self):
            try:
                self.relay()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client left (e.g. it timed out during a hang)

        def relay(self):
            if self.path.startswith(FAULT_PATH):
                return self.control()
            if fault.mode == "hang":
                fault.wait_while_hanging()
            if fault.mode != "ok":
                # As a dead region: the connection ends without an answer.
                self.close_connection = True
                return
            body = self.read_body_if_needed()
            if not self.authorized(body):
                return
            target = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            if target in DYNAMODB_WRITE_ACTIONS and body is None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            tables = tables_written(body) if target in DYNAMODB_WRITE_ACTIONS else []
            with writing(tables):
                answer = self.send_upstream(body)
            if answer is None:
                return
            self.relay_answer(answer)

        def send_upstream(self, body):
            """Sends the request to moto; its answer, or None when the request was answered here."""
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
            upstream.connect()
            upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as above
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders()
            if body is not None:
                upstream.send(body)
            elif not self.send_body(upstream):
                return None
            answer = upstream.getresponse()
            answer.upstream = upstream
            return answer

        def relay_answer(self, answer):
            upstream = answer.upstream

            headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)

            def replace_header(name, value):
                nonlocal headers
                headers = [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]

            body = None  # None: stream moto's body through unchanged
            root = ROOT_ELEMENTS.get(self.command) if "uploadId" in query and answer.status == 200 else None
            if root:
                body = answer.read().replace(root + b"Response", root + b"Result")
                if self.command == "GET":
                    body = with_part_checksums(query["uploadId"][0], body)
                replace_header("Content-Length", str(len(body)))
            if self.command == "PUT" and "partNumber" in query and "uploadId" in query and answer.status == 200:
                checksum = self.headers.get("x-amz-checksum-sha256")
                if checksum:
                    PART_CHECKSUMS[(query["uploadId"][0], query["partNumber"][0])] = checksum.strip()
            if self.command == "GET" and answer.status in (200, 206):
                for parameter, header in OVERRIDES.items():
                    if parameter in query:
                        replace_header(header, query[parameter][0])

            self.send_response_only(answer.status, answer.reason)
            for name, value in headers:
                self.send_header(name, value)
            if self.command != "HEAD" and not any(k.lower() == "content-length" for k, _ in headers):
                # Unknown length: the end of the body is the end of the connection.
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if body is not None:
                self.wfile.write(body)
            elif self.command != "HEAD":
                while chunk := answer.read(CHUNK):
                    self.wfile.write(chunk)
            upstream.close()

        def read_body_if_needed(self):
            """The body, read whole when the decision depends on it (a DynamoDB call names its
            table there; S3's multi-object delete its keys); None when it can stream."""
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
            if policies is None or not ("X-Amz-Target" in self.headers or (self.command == "POST" and "delete" in query)):
                return None
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def authorized(self, body):
            """Holds the call to its function's policy; answers AccessDenied (False) if refused."""
            if policies is None:
                return True
            key, calls = iam.classify(self.command, self.path, self.headers, body or b"")
            function = iam.function_of(key)
            if function is None or not calls:  # the operator, or nothing IAM authorizes
                return True
            refused = None
            for action, resource in calls:
                allowed = policies.decide(function, action, resource)
                recorder.record(function=function, action=action, resource=resource, allowed=allowed,
                                request=f"{self.command} {self.path.split('?', 1)[0]}")
                if not allowed and refused is None:
                    refused = (action, resource)
            if refused is None:
                return True
            if body is None:  # the connection cannot be reused with an unread body
                self.close_connection = True
            action, resource = refused
            message = f"User: {function} is not authorized to perform: {action} on resource: {resource}"
            if "X-Amz-Target" in self.headers:
                status, content_type = 400, "application/x-amz-json-1.0"
                answer = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
                                     "message": message}).encode()
            else:
                status, content_type = 403, "application/xml"
                answer = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>'
                          + message.encode() + b"</Message></Error>")
            self.send_response_only(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer)
            return False

        def send_body(self, upstream):
            """Streams the request body to moto. With a SHA-256 to match, the last chunk is held
            back until the digest is known: on a mismatch moto never gets a whole request, and
            the client gets S3's answer. False when the request was answered here."""
            expected = self.headers.get("x-amz-checksum-sha256") if self.command == "PUT" else None
            digest = hashlib.sha256()
            held = b""
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    break
                if held:
                    upstream.send(held)
                digest.update(chunk)
                held = chunk
                remaining -= len(chunk)
            if expected is not None and base64.b64encode(digest.digest()).decode() != expected.strip():
                upstream.close()
                body = (
                    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadDigest</Code>'
                    b"<Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>"
                )
                self.send_response_only(400, "Bad Request")
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
                self.end_headers()
                self.wfile.write(body)
                return False
            if held:
                upstream.send(held)
            return True

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = forward

    return Gateway


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True, help="port of moto on 127.0.0.1")
    parser.add_argument("--policies", help="the functions' resolved policies (iam.py policies); re-read when changed")
    parser.add_argument("--record", help="append every decision to this JSON-lines file")
    args = parser.parse_args()
    policies = iam.PolicyBook(args.policies) if args.policies else None
    if policies:
        iam.allows([], "s3:GetObject", "*")  # loads moto's evaluator (a second) before any call waits on it
    recorder = iam.Recorder(args.record or "/dev/null") if policies else None
    server = ThreadingHTTPServer(("127.0.0.1", args.listen), make_handler(args.upstream, Fault(), policies, recorder))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
