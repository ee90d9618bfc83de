"""Rewrite README.md's speed table (between the speed-table markers) from a benchmark result.

Usage: python bench/update_readme.py [--result bench/results/<name>.json] [--readme README.md]
Without --result, the newest full-bench JSON in bench/results (by its recorded date) is used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

if __package__:  # imported as bench.update_readme (the tests)
    from bench import tools
else:  # run as a script from bench/ or imported by bench/run.py
    sys.path.insert(0, str(BENCH))
    import tools


def latest_result(folder: Path, include_quick: bool = False) -> Path:
    """The result JSON with the newest ``date`` in ``folder`` (quick runs only when asked)."""
    found = []
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        if include_quick or data.get("mode") != "quick":
            found.append((data.get("date", ""), path))
    if not found:
        raise FileNotFoundError(f"no {'' if include_quick else 'full '}benchmark result in {folder}; run `make bench`.")
    return max(found)[1]


def update(readme: Path, result_path: Path) -> None:
    """Replace the speed block of ``readme`` (created if missing) with the table of ``result_path``."""
    result = json.loads(result_path.read_text())
    text = readme.read_text() if readme.exists() else ""
    readme.write_text(tools.replace_block(text, tools.readme_block(result, result_path.stem)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--result", type=Path)
    parser.add_argument("--readme", type=Path, default=BENCH.parent / "README.md")
    parser.add_argument("--include-quick", action="store_true", help="also consider bench-quick results")
    args = parser.parse_args(argv)
    result = args.result or latest_result(BENCH / "results", args.include_quick)
    update(args.readme, result)
    print(f"{args.readme}: speed table from {result}")


if __name__ == "__main__":
    main()
