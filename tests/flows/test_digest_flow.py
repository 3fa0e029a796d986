"""The weekly digest under Prefect: built after the weekly review, stored once per content,
written as Markdown and a page, and sent once through the programme's notification block
(a custom webhook block on a local HTTP server here); a failed review run is announced
through the same block."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock

from improve.config import demo_programme_path
from improve.errors import ConfigError
from improve.orchestration.flows import (
    cycle_flow,
    stage_flow,
    weekly_digest_flow,
    weekly_review_flow,
)

pytestmark = pytest.mark.slow


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, str]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local webhook receiver: its URL and the JSON bodies it received."""
    received: list[dict[str, str]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def _config(tmp_path: Path, block: str) -> str:
    config = tmp_path / "demo.yaml"
    text = demo_programme_path().read_text(encoding="utf-8")
    config.write_text(text + f"notifications:\n  block: {block}\n", encoding="utf-8")
    return str(config)


def test_the_digest_is_sent_once_per_version(
    store: Path, sample_root: Path, tmp_path: Path, webhook: tuple[str, list[dict[str, str]]]
) -> None:
    url, received = webhook
    CustomWebhookNotificationBlock(
        name="service desk",
        url=url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    ).save("improve-digest-test", overwrite=True)
    config, root = _config(tmp_path, "custom-webhook/improve-digest-test"), str(sample_root)
    cycle_flow(config, stages=["diagnose", "target", "design"], data_root=root, auto_approve=True)
    stage_flow(config, "execute", data_root=root)  # stored, awaiting its author review

    weekly_review_flow(config, period="2026-W07", data_root=root, locale="en")
    [message] = received
    assert "2026-W07" in message["subject"] and "1 pending approval(s)" in message["subject"]
    body = message["body"]
    assert (
        body.startswith("# ")
        and "smart-service/test" in body
        and "skills-training/criteria" in body
    )
    assert "demo/2026-H1/execute v1" in body and "王敏" in body  # the author is awaited
    reports = store / "reports" / "demo" / "2026-H1"
    assert (reports / "digest-2026-W07.md").read_text(encoding="utf-8") == body
    page = (reports / "digest-2026-W07.html").read_text(encoding="utf-8")
    assert "smart-service/test" in page and "\\" not in page

    # The same week again: the digest is unchanged and was sent, so nothing goes out.
    again = weekly_digest_flow(config, period="2026-W07", data_root=root, locale="en")
    assert not again.created and not again.notified and again.version == 1
    assert len(received) == 1
    # The next week is a new digest, sent once.
    nxt = weekly_digest_flow(config, period="2026-W08", data_root=root, locale="en")
    assert nxt.created and nxt.notified and len(received) == 2
    assert "2026-W08" in received[1]["subject"]

    # A review run that fails is announced through the same block, and still fails.
    with pytest.raises(Exception, match="2026-W99"):
        weekly_review_flow(config, period="2026-W99", data_root=root)
    assert len(received) == 3
    assert "failed" in received[2]["subject"] and "2026-W99" in received[2]["body"]


def test_a_missing_block_is_a_clear_error(store: Path, sample_root: Path, tmp_path: Path) -> None:
    config, root = _config(tmp_path, "custom-webhook/nobody-made-this"), str(sample_root)
    cycle_flow(config, stages=["diagnose", "target", "design"], data_root=root, auto_approve=True)
    stage_flow(config, "execute", data_root=root)
    with pytest.raises(ConfigError, match=r"nobody-made-this.*is not on the Prefect server"):
        weekly_digest_flow(config, period="2026-W07", data_root=root)
