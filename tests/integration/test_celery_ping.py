from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery

from portal.celery import app

BASE = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_a_real_worker_answers_the_ping_task_through_redis(redis_url, monkeypatch):
    env = {
        **os.environ,
        "PORTAL_ENVIRONMENT": "test",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=BASE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # The worker is the real portal app configured from the environment; this client only
    # needs to reach the same broker and result backend.
    # (Celery lets CELERY_BROKER_URL in the environment win over the constructor argument.)
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    client = Celery("test-client", broker=redis_url, backend=redis_url)
    try:
        result = client.send_task("portal.ping")
        assert result.get(timeout=60) == "pong"
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_the_celery_app_uses_json_and_late_acknowledgement():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
