"""Serves the sign-in page (web/) the way it should be served anywhere: its configuration
(config.json, which names the API) beside it, and a Content-Security-Policy header whose
connect-src names that API's origin only, so the page cannot send a password anywhere else.

    python scripts/serve_page.py PORT WEB_DIR

make dev writes WEB_DIR/config.json ({"api": "http://127.0.0.1:3000"}); the tests write their own.
"""
import functools
import http.server
import json
import sys
import urllib.parse


def csp(web_dir):
    """The page's policy, with the configured API's origin as the one place it may connect."""
    with open(f"{web_dir}/config.json", encoding="utf-8") as f:
        api = urllib.parse.urlsplit(json.load(f)["api"])
    if api.scheme not in ("http", "https") or not api.netloc:
        raise SystemExit(f"{web_dir}/config.json: api must be an http(s) URL")
    origin = f"{api.scheme}://{api.netloc}"
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            f"connect-src 'self' {origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class Handler(http.server.SimpleHTTPRequestHandler):
    policy = ""

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.policy)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


def main():
    port, web_dir = int(sys.argv[1]), sys.argv[2]
    Handler.policy = csp(web_dir)
    handler = functools.partial(Handler, directory=web_dir)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
