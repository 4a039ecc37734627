#!/usr/bin/env python3
"""A small HTTP gateway in front of one region's moto S3.

It streams every request to moto and back, and makes moto answer as S3 does where it differs:
- on a GET, the `response-content-disposition` / `response-content-type` / … query parameters of
  a presigned URL become the response's headers (so the browser saves a download under its name);
- CompleteMultipartUpload and ListParts answer with S3's root elements (`…Result`; moto writes
  `…Response`, which the Rust SDK rightly refuses);
- a PUT (object or part) whose body does not match its `x-amz-checksum-sha256` is refused with
  S3's `400 BadDigest` and never reaches moto, which does not check checksums.

Being the region's front door, it is also where the local stack takes that region's storage
down on its own while the metadata stays up:

    curl -X PUT --data down http://127.0.0.1:4567/__twinshare/fault   # drop every connection
    curl -X PUT --data hang http://127.0.0.1:4567/__twinshare/fault   # accept, never answer
    curl -X PUT --data ok   http://127.0.0.1:4567/__twinshare/fault   # back to normal

    s3_gateway.py --listen 4567 --upstream 4667
"""
import argparse
import base64
import hashlib
import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1024 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
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


def make_handler(upstream_port, fault):
    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

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
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders()
            if not self.send_body(upstream):
                return
            answer = upstream.getresponse()

            headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)

            def replace_header(name, value):
                nonlocal headers
                headers = [(k, v) for k, v in headers if k.lower() != name.lower()] + [(name, value)]

            body = None  # None: stream moto's body through unchanged
            root = ROOT_ELEMENTS.get(self.command) if "uploadId" in query and answer.status == 200 else None
            if root:
                body = answer.read().replace(root + b"Response", root + b"Result")
                replace_header("Content-Length", str(len(body)))
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
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.listen), make_handler(args.upstream, Fault()))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
