"""Draw the package's layers: one box per sub-package (and top-level module), each row importing only the rows below.

Reads the relative imports with ``ast`` (module-level ones, and those inside functions, made on first use), checks
that no module-level import points to its own row or above, and writes ``docs/architecture.svg``. Run from the repository root:

    python tools/layers.py            # writes docs/architecture.svg, prints the edges
    python tools/layers.py --check    # exit 1 if an import points upward or the picture is out of date
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path("eqdenoise")
PICTURE = Path("docs/architecture.svg")
LAYERS = [["__main__"], ["cli"], ["api"], ["training"], ["tasks"], ["nets"], ["diffusion"], ["frames"], ["files"],
          ["devices", "allocator"], ["errors", "names"]]
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 330, 60, 16, 22, 16


def unit(path: Path) -> str:
    """The sub-package a file belongs to, or its own name for a top-level module."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imports() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Module-level and in-function imports between units, by importing unit."""
    top, lazy = defaultdict(set), defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        source = unit(path)
        tree = ast.parse(path.read_text())
        module_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            base = list(path.relative_to(PACKAGE).parts[:-1])
            base = base[: len(base) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            if target and target[0] != source and target[0] in {u for row in LAYERS for u in row}:
                (top if id(node) in module_level else lazy)[source].add(target[0])
    return top, lazy


def rank() -> dict[str, int]:
    return {name: row for row, names in enumerate(LAYERS) for name in names}


def upward(top: dict[str, set[str]]) -> list[str]:
    """Module-level imports that point to a row above (or the same row's other box)."""
    rows = rank()
    return [f"{a} -> {b}" for a, targets in sorted(top.items()) for b in sorted(targets) if rows[b] <= rows[a]]


def svg(top: dict[str, set[str]], lazy: dict[str, set[str]]) -> str:
    """The picture: rows of boxes from the command line down to the base, each box naming what it imports (all of it
    from rows below; in grey what it imports only inside functions, on first use)."""
    width = 2 * MARGIN + 2 * BOX_W + GAP_X
    row_h = BOX_H + GAP_Y
    height = 2 * MARGIN + len(LAYERS) * row_h
    shapes = []
    for r, row in enumerate(LAYERS):
        y = MARGIN + r * row_h
        box_w = (width - 2 * MARGIN - (len(row) - 1) * GAP_X) / len(row)
        for i, name in enumerate(row):
            x = MARGIN + i * (box_w + GAP_X)
            label = f"{name}/" if (PACKAGE / name).is_dir() else f"{name}.py"
            used = ", ".join(sorted(top.get(name, ())))
            later = ", ".join(sorted(lazy.get(name, set()) - top.get(name, set())))
            shapes.append(f'<rect x="{x:.0f}" y="{y}" width="{box_w:.0f}" height="{BOX_H}" rx="6" fill="#eef3fb" '
                          f'stroke="#35507a"/><text x="{x + 10:.0f}" y="{y + 20}" font-family="sans-serif" '
                          f'font-size="15" font-weight="bold">{label}</text>'
                          f'<text x="{x + 10:.0f}" y="{y + 38}" font-family="sans-serif" font-size="11">'
                          f'{"imports " + used if used else "imports nothing of the package"}</text>'
                          + (f'<text x="{x + 10:.0f}" y="{y + 52}" font-family="sans-serif" font-size="11" '
                             f'fill="#7a7a7a">on first use: {later}</text>' if later else ""))
        if r:
            shapes.append(f'<text x="{width - MARGIN:.0f}" y="{y - 8}" text-anchor="end" font-family="sans-serif" '
                          'font-size="11" fill="#35507a">▲ imported by the rows above</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
            f'viewBox="0 0 {width:.0f} {height}"><rect width="100%" height="100%" fill="white"/>'
            + "".join(shapes) + "</svg>\n")


def main() -> int:
    top, lazy = imports()
    wrong = upward(top)
    picture = svg(top, lazy)
    if "--check" in sys.argv:
        stale = not PICTURE.is_file() or PICTURE.read_text() != picture
        for line in wrong:
            print(f"upward import: {line}")
        if stale:
            print(f"{PICTURE} is out of date: run python tools/layers.py")
        return 1 if wrong or stale else 0
    PICTURE.write_text(picture)
    for a, targets in sorted(top.items()):
        print(f"{a} -> {', '.join(sorted(targets))}")
    print(f"wrote {PICTURE}; upward imports: {len(wrong)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
