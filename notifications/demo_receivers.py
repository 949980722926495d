"""The demo's stand-ins for a mail server and a Teams channel, so anyone can see what the portal
sent: `python -m notifications.demo_receivers mail|teams --dir var/...`. Tests use the same
classes. Never used in production (nothing here is imported by the portal)."""

from __future__ import annotations

import argparse
import html
import json
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def _stamp() -> str:
    return f"{time.time_ns()}"


class _SaveMessages:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        (self.directory / f"{_stamp()}.eml").write_bytes(content)
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server that saves every message to `directory` as an .eml file."""

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 1025) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.controller = Controller(_SaveMessages(directory), hostname=host, port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Any]:
        """The caught messages, oldest first, parsed (`msg["Subject"]`, `msg.get_content()`)."""
        return [
            message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(self.directory.glob("*.eml"))
        ]


class WebhookReceiver:
    """An HTTP server standing in for Teams incoming webhooks: every POST is saved as JSON.

    `?fail=N&status=S` makes the first N posts to that URL answer S (default 503), so the
    portal's retries can be watched; `GET /` lists what was received.
    """

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 8026) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.failures_left: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posts(self) -> list[dict[str, Any]]:
        """What was received, oldest first: {"path": ..., "payload": ...}."""
        return [json.loads(p.read_text()) for p in sorted(self.directory.glob("*.json"))]

    def _should_fail(self, path: str) -> int | None:
        query = parse_qs(urlsplit(path).query)
        if "fail" not in query:
            return None
        with self.lock:
            left = self.failures_left.setdefault(path, int(query["fail"][0]))
            if left <= 0:
                return None
            self.failures_left[path] = left - 1
        return int(query.get("status", ["503"])[0])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._should_fail(self.path)
                if status is not None:
                    self._answer(status, b"Simulated failure")
                    return
                record = {"path": self.path, "payload": json.loads(body or b"null")}
                (receiver.directory / f"{_stamp()}.json").write_text(json.dumps(record))
                self._answer(200, b"1")  # what Teams' connector webhooks answer

            def do_GET(self) -> None:  # noqa: N802
                self._answer(200, receiver.page().encode(), "text/html; charset=utf-8")

            def _answer(self, status: int, body: bytes, kind: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler

    def page(self) -> str:
        items = []
        for record in reversed(self.posts()):
            card = record["payload"]["attachments"][0]["content"] if record["payload"] else {}
            texts = [
                b.get("text", "") for b in card.get("body", []) if b.get("type") == "TextBlock"
            ]
            facts = [
                f"{f['title']}: {f['value']}"
                for b in card.get("body", []) if b.get("type") == "FactSet" for f in b["facts"]
            ]  # fmt: skip
            links = [a["url"] for a in card.get("actions", [])]
            items.append(
                "<li><b>" + html.escape(" — ".join(texts)) + "</b><br>"
                + "<br>".join(html.escape(f) for f in facts)
                + "".join(f'<br><a href="{html.escape(u)}">{html.escape(u)}</a>' for u in links)
                + "</li>"
            )  # fmt: skip
        return _page("Teams channel (demo)", items)


def mailbox_page(directory: Path) -> str:
    items = []
    for path in sorted(directory.glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        items.append(
            f"<li><b>{html.escape(str(message['Subject']))}</b> to {html.escape(str(message['To']))}"
            f"<pre>{html.escape(text)}</pre></li>"
        )
    return _page("Mailbox (demo)", items)


def _page(title: str, items: list[str]) -> str:
    listing = "".join(items) or "<li>Nothing yet.</li>"
    return (
        f"<!doctype html><meta charset=utf-8><title>{title}</title>"
        '<meta http-equiv="refresh" content="10">'
        f"<h1>{title}</h1><p>Newest first; refreshes every 10 s.</p><ol>{listing}</ol>"
    )


def _serve_mailbox_page(directory: Path, host: str, port: int) -> None:
    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = mailbox_page(directory).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    ThreadingHTTPServer((host, port), Page).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("receiver", choices=("mail", "teams"))
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="SMTP port (mail) or HTTP port (teams)")
    parser.add_argument("--page-port", type=int, default=8025, help="mail: the mailbox page")
    args = parser.parse_args()
    if args.receiver == "mail":
        catcher = MailCatcher(args.dir, host=args.host, port=args.port or 1025)
        catcher.start()
        print(f"Demo mailbox: SMTP on {args.host}:{catcher.controller.port}, "  # noqa: T201
              f"messages at http://{args.host}:{args.page_port}/ and in {args.dir}", flush=True)  # fmt: skip
        _serve_mailbox_page(args.dir, args.host, args.page_port)
    else:
        receiver = WebhookReceiver(args.dir, host=args.host, port=args.port or 8026)
        print(f"Demo Teams channel: POST http://{args.host}:{receiver.port}/webhook/<name>, "  # noqa: T201
              f"received cards at http://{args.host}:{receiver.port}/", flush=True)  # fmt: skip
        receiver.server.serve_forever()


if __name__ == "__main__":
    main()
