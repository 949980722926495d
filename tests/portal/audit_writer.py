"""A separate process appending audit events: `python -m tests.portal.audit_writer COUNT DIR`.

Started several times at once by the concurrency test, with the environment of
tests.postgres.child_process_database_env(). Once Django is set up it creates DIR/ready-<pid>
and waits for DIR/go (so all writers begin together), appends COUNT events, and exits 0.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path


def main() -> None:
    count, folder = int(sys.argv[1]), Path(sys.argv[2])
    import django

    django.setup()
    from portal.audit import audit_record

    (folder / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in range(count):
        audit_record(action="test.concurrent", details={"writer": os.getpid(), "n": n})
        # A writer that starts its next append the instant it commits wins SQLite's lock again
        # before the waiting writers' busy-timeout backoff wakes them, so the writers would run
        # one after another; a pause lets them interleave, which is what the test is about.
        time.sleep(random.uniform(0.005, 0.03))  # noqa: S311 - timing jitter, not security


if __name__ == "__main__":
    main()
