"""The repository stands on its own: nothing in it points at files outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Assembled from pieces so this file does not itself contain what it looks for.
_PARTS = [
    r"\.\./" + "shared",
    "/" + "work" + "/",
    "AZURE" + "_FACTS",
    r"(?<![\w/])(DESIGN|STYLE)\.md",
]
OUTSIDE = re.compile("|".join(_PARTS))


def test_no_tracked_file_refers_to_documents_outside_the_repository():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in files:
        path = ROOT / name
        if (
            path.suffix not in {".py", ".md", ".html", ".toml", ".txt", ".cfg", ""}
            or not path.is_file()
        ):
            continue
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "Point these at docs/ instead:\n" + "\n".join(offenders)
