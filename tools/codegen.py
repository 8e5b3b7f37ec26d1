"""Generate the Python bindings of proto/ into generated/python, or check they are current.

    python tools/codegen.py            # regenerate generated/python/lepton
    python tools/codegen.py --check    # exit 1 when the committed code differs

protoc comes from grpcio-tools, pinned exactly in pyproject.toml, so every machine produces the
same bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
OUTPUT_ROOT = ROOT / "generated" / "python"
PACKAGE = "lepton"
SPEC = ROOT / "spec" / "general.md"
SPEC_VERSION_LINE = re.compile(r"^Version (\S+?)\.(?:\s|$)", re.MULTILINE)


def proto_files() -> list[Path]:
    """Every .proto of the standard, in a stable order."""
    return sorted(PROTO_ROOT.rglob("*.proto"))


def spec_version() -> str:
    """The version of the standard, as the first lines of spec/general.md state it."""
    match = SPEC_VERSION_LINE.search(SPEC.read_text())
    if match is None:
        raise SystemExit(f"{SPEC.relative_to(ROOT)} states no 'Version X.' line")
    return match.group(1)


def generate(out_dir: Path) -> None:
    """Run protoc over every contract into out_dir/lepton, with __init__.py in each package;
    the top package states the version of the standard (SPEC_VERSION) for every package that
    speaks it, so the spec's own text is its one source."""
    well_known = resources.files("grpc_tools") / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in [out_dir / PACKAGE, *(out_dir / PACKAGE).rglob("*")]:
        if package_dir.is_dir():
            (package_dir / "__init__.py").touch()
    (out_dir / PACKAGE / "__init__.py").write_text(
        '"""Generated bindings of the Lepton AI Infrastructure Standard."""\n\n'
        "# The version of the standard these contracts belong to (spec/general.md).\n"
        f'SPEC_VERSION = "{spec_version()}"\n'
    )


def differences(left: Path, right: Path) -> list[str]:
    """Relative paths that exist on one side only or differ in content."""
    found: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        found.extend(prefix + name for name in cmp.left_only + cmp.right_only + cmp.funny_files)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(prefix + name for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=["__pycache__"]), "")
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when generated code is stale")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        target = OUTPUT_ROOT / PACKAGE
        if options.check:
            if not target.is_dir():
                print("generated/python/lepton is missing; run `make generate`", file=sys.stderr)
                return 1
            stale = differences(fresh / PACKAGE, target)
            if stale:
                print("generated code is out of date; run `make generate`:", file=sys.stderr)
                for path in stale:
                    print(f"  {path}", file=sys.stderr)
                return 1
            print(f"generated code is current ({len(proto_files())} protos)")
            return 0
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(fresh / PACKAGE, target)
        print(f"generated {len(proto_files())} protos into {target.relative_to(ROOT)}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
