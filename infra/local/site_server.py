#!/usr/bin/env python3
"""Serves a release build of the site (site/dist) as CloudFront does, for `infra/run --release`
and the benchmark's Lighthouse runs (trunk's own server neither compresses nor sets cache lives):

- gzip for what CloudFront compresses (HTML, CSS, JavaScript) and for the wasm, which
  publish_site.py stores gzipped;
- `Cache-Control` as publish_site.py sets it: hashed assets for a year, index.html never;
- any other path that is not a file gets index.html (the site routes in the browser);
- `/api/…` goes to the functions, as CloudFront's /api/* behaviour does.

    site_server.py --port 8080 --dist site/dist --api http://127.0.0.1:9000
"""
import argparse
import gzip
import http.client
import pathlib
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import publish_site  # noqa: E402  (the content types and cache lives of the deployed site)

COMPRESSED = {".html", ".css", ".js", ".wasm", ".svg", ".txt"}


def make_handler(dist, api):
    api_url = urllib.parse.urlsplit(api)
    gzipped = {}  # path → gzipped bytes, built once (the files never change while serving)

    class Site(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/api/"):
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

        def proxy(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = http.client.HTTPConnection(api_url.hostname, api_url.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            upstream.close()

        do_POST = do_PUT = do_PATCH = do_DELETE = proxy

    return Site


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dist", type=pathlib.Path, required=True)
    parser.add_argument("--api", required=True, help="the functions' base URL")
    args = parser.parse_args()
    dist = args.dist.resolve()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(dist, args.api))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
