"""Read a Label Studio JSON export back with Label Studio's own converter.

Runs in .venv-interop/interchange (label-studio-sdk pins a numpy older than .venv's; `make
install` builds it from interop/requirements-interchange.txt), started by
tests/server/data/test_annotation_formats.py. JSON on stdin:

    {"config": "<View>...</View>", "input": "/path/export.json", "format": "COCO" | "YOLO"}

JSON on stdout: for COCO, the converter's result.json; for YOLO, {"classes": [...],
"labels": {file name: text}} of its classes.txt and labels/ directory.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from label_studio_sdk.converter import Converter


def read_back(config: str, source: str, output_format: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        converter = Converter(config=config, project_dir=out, download_resources=False)
        converter.convert(source, out, output_format, is_dir=False)
        folder = Path(out)
        if output_format == "COCO":
            return json.loads((folder / "result.json").read_text())
        classes = (folder / "classes.txt").read_text().splitlines()
        labels = {p.name: p.read_text() for p in sorted((folder / "labels").glob("*.txt"))}
        return {"classes": classes, "labels": labels}


def main() -> None:
    request = json.load(sys.stdin)
    result = read_back(request["config"], request["input"], request.get("format", "COCO"))
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
