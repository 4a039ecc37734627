#!/usr/bin/env python3
"""Serves a release build of the site (site/dist) as CloudFront does, for `infra/run --release`
and the benchmark's Lighthouse runs (trunk's own server neither compresses nor sets cache lives):

- gzip for what CloudFront compresses (HTML, CSS, JavaScript) and for the wasm, which
  publish_site.py stores gzipped;
- `Cache-Control` as publish_site.py sets it: hashed assets for a year, index.html never;
- any other path that is not a file gets index.html (the site routes in the browser);
- `/api/…` goes to the functions, as CloudFront's /api/* behaviour does;
- with `--fallback-api`, the read paths (GET, HEAD, OPTIONS of /api/files… and /api/status) go
  through an origin group as CloudFront's does: the primary region's API, given up on after
  1 s to connect or 2 s to answer, then the second region's on a 5xx or no answer; and
  `/api/second-region/…` goes to the second region's API with that prefix cut, as
  template.yaml's SecondRegionApiPath does (where the page sends uploads the primary refuses).

Without `--dist` it serves only the API (the front that `trunk serve` proxies to).

    site_server.py --port 8080 --dist site/dist --api http://127.0.0.1:9000 \
        --fallback-api http://127.0.0.1:9001
"""
import argparse
import gzip
import http.client
import pathlib
import socket
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import publish_site  # noqa: E402  (the content types and cache lives of the deployed site)

COMPRESSED = {".html", ".css", ".js", ".wasm", ".svg", ".txt"}
# template.yaml's read cache behaviours, which target the origin group.
READ_PATHS = ("/api/files", "/api/status")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
# The read origin's ConnectionTimeout and OriginReadTimeout in template.yaml.
CONNECT_TIMEOUT, READ_TIMEOUT = 1, 2
FAILOVER_STATUSES = {500, 502, 503, 504}
# What `cargo lambda watch` answers when it fails to relay a function's answer (its own
# ServerError; a function's failure reaches the client with the function's own body). Seen on
# GETs the function had answered 200 (its log says so): an emulator fault AWS does not have.
EMULATOR_RELAY_FAILURE = b'{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}'
SECOND_REGION_PREFIX = "/api/second-region/"


def is_read(method, path):
    return method in READ_METHODS and path.startswith(READ_PATHS)


def make_handler(dist, api, fallback_api=None):
    api_url = urllib.parse.urlsplit(api)
    fallback_url = urllib.parse.urlsplit(fallback_api) if fallback_api else None
    gzipped = {}  # path → gzipped bytes, built once (the files never change while serving)

    class Site(BaseHTTPRequestHandler):
        # Its headers and body leave in separate writes too (see `ask`).
        disable_nagle_algorithm = True
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/api/") or dist is None:
                return self.proxy()
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            file = (dist / path).resolve()
            if not path or not file.is_file() or dist not in file.parents:
                file = dist / "index.html"
            body = file.read_bytes()
            headers = {
                "Content-Type": publish_site.content_type(file),
                "Cache-Control": publish_site.ALWAYS_REVALIDATE if file.name == "index.html" else publish_site.IMMUTABLE,
                "Vary": "Accept-Encoding",
            }
            if file.suffix in COMPRESSED and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                if file not in gzipped:
                    gzipped[file] = gzip.compress(body, 9, mtime=0)
                body = gzipped[file]
                headers["Content-Encoding"] = "gzip"
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_HEAD = do_GET

        def ask(self, origin, body, headers, timeouts, path=None):
            """(status, reason, headers, body) from one origin; None if it did not answer in time.
            A GET or HEAD the emulator failed to relay is asked once more, and said so in the log."""
            answer = self.ask_once(origin, body, headers, timeouts, path)
            if answer and answer[0] == 500 and answer[3] == EMULATOR_RELAY_FAILURE and self.command in ("GET", "HEAD"):
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
                print(f"{stamp} cargo lambda watch failed to relay {self.command} {path or self.path} "
                      f"from {origin.port}; asked again", file=sys.stderr, flush=True)
                answer = self.ask_once(origin, body, headers, timeouts, path)
            return answer

        def ask_once(self, origin, body, headers, timeouts, path=None):
            connect, read = timeouts
            upstream = http.client.HTTPConnection(origin.hostname, origin.port, timeout=connect)
            try:
                upstream.connect()
                upstream.sock.settimeout(read)
                # http.client sends the body apart from the headers: without this, Nagle's
                # algorithm holds it until the origin's delayed ACK (40 ms).
                upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                upstream.request(self.command, path or self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                return answer.status, answer.reason, answer.getheaders(), answer.read()
            except OSError:
                return None
            finally:
                upstream.close()

        def proxy(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            content_type = self.headers.get("Content-Type", "")
            if not body or not is_utf8(body) or not content_type.startswith(("application/json", "text/")):
                # API Gateway hands a function any body it does not take for text base64-encoded.
                # `cargo lambda watch` answers 500 itself, before the function, for a JSON type
                # with bytes that are not UTF-8 and for a multipart type without a boundary (even
                # on a GET). Relabelled (or unlabelled, without a body), the function gets them
                # as on AWS and answers for itself: 400 malformed_body where it wants JSON.
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
                if body:
                    headers["Content-Type"] = "application/octet-stream"
            if fallback_url and self.path.startswith(SECOND_REGION_PREFIX):
                path = self.path[len(SECOND_REGION_PREFIX) - 1:]
                answer = self.ask(fallback_url, body, headers, (10, 120), path=path)
            elif fallback_url and is_read(self.command, self.path):
                answer = self.ask(api_url, body, headers, (CONNECT_TIMEOUT, READ_TIMEOUT))
                if answer is None or answer[0] in FAILOVER_STATUSES:
                    answer = self.ask(fallback_url, body, headers, (CONNECT_TIMEOUT, READ_TIMEOUT)) or answer
            else:
                answer = self.ask(api_url, body, headers, (10, 120))
            if answer is None:
                self.send_response(504, "Gateway Timeout")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, reason, answer_headers, data = answer
            self.send_response(status, reason)
            for name, value in answer_headers:
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = proxy

        def refuse_method(self):
            """CloudFront forwards only the methods its behaviours allow and answers 403 to others."""
            # Its body is not read: the connection closes, or those bytes would be read as the
            # next request on it.
            self.close_connection = True
            body = b"403: this method is not allowed\n"
            self.send_response(403, "Forbidden")
            self.send_header("Connection", "close")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def __getattr__(self, name):
            # Any other method (TRACE, CONNECT, QUERY, …): refused as CloudFront does, where
            # http.server would answer 501.
            if name.startswith("do_"):
                return self.refuse_method
            raise AttributeError(name)

    return Site


def is_utf8(body):
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dist", type=pathlib.Path, help="the built site; without it, only /api/ is served")
    parser.add_argument("--api", required=True, help="the functions' base URL")
    parser.add_argument("--fallback-api", help="the second region's functions, for the read paths")
    args = parser.parse_args()
    dist = args.dist.resolve() if args.dist else None
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(dist, args.api, args.fallback_api))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
