"""The formatter is the only place numbers become text (issue 16, item 2).

Walks ``src/hepatostat`` with :mod:`ast` and fails on a numeric format spec
outside :mod:`hepatostat.io.format` and the allowlist below:

- an f-string replacement field with a numeric spec (``{x:.3f}``, ``{n:,}``,
  ``{p:.2e}``, ``{x:g}``, ``{x:.{d}f}``); hexadecimal, octal and binary
  specs (bytes, colours) are codes, not quantities, and are not checked;
- ``%``-formatting with a numeric conversion (``"%.2f" % x``, ``"%d" % n``);
- ``format(x, ".3f")`` and ``"{:.3f}".format(x)``;
- ``round(...)`` inside string building (an f-string, ``str()``, ``"..." + ``,
  ``.format``/``echo``/``write`` arguments);
- ``DataFrame.to_string(...)`` (pandas' own number formatting; use
  :func:`hepatostat.io.format.table_text`).

Entries of the allowlist are (file, function) pairs, ``"*"`` for a whole
file; each says why numbers there are not a reader's text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "hepatostat"

ALLOWLIST = {
    # the formatter itself
    ("io/format.py", "*"): "the one formatter",
    # not text for a reader
    ("io/docx.py", "_table"): "Word XML attribute in half-points, not text a reader sees",
    ("datasets/synthetic_cohort.py", "_fmt"): "writes the synthetic patients' lab values as text cells of the "
                                              "generated spreadsheet, as a laboratory system would: data, not a report",
    ("digitize/extract.py", "_hex"): "a colour code (#rrggbb) from RGB channels, not a quantity",
    ("units.py", "plausible_range"): "rounds to 12 significant digits through text to drop float noise "
                                     "(50 * 17.1 = 855.0000000000001); the result is a number, not text",
}

# hexadecimal, octal, binary and character specs ("{byte:02x}", "#{r:02x}{g:02x}{b:02x}") show codes
# (bytes of a file, colours), not quantities, and are not checked
_NUMERIC_SPEC = re.compile(r"^(?:.?[<>=^])?[+\- ]?#?0?\d*[,_]?(?:\.\d+)?[deEfFgGn%]?$")
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[dieEfFgG]")
_BRACE = re.compile(r"\{[^{}]*:([^{}]*)\}")


def _numeric_spec(spec: str) -> bool:
    # a spec that only pads or aligns ("<10", ">8") is layout, not number formatting; zero-padded whole
    # numbers ("{i:04d}" in "S0001") are identifiers, not quantities
    if re.fullmatch(r"0\d+d", spec):
        return False
    return bool(spec) and bool(_NUMERIC_SPEC.match(spec)) and bool(re.search(r"[.,_%]|[deEfFgGn]$", spec))


def _in_text(node, parents) -> bool:
    p = parents.get(node)
    while p is not None and not isinstance(p, ast.stmt):
        if isinstance(p, ast.JoinedStr):
            return True
        if isinstance(p, ast.Call):
            f = p.func
            if isinstance(f, ast.Name) and f.id == "str":
                return True
            if isinstance(f, ast.Attribute) and f.attr in ("format", "echo", "write"):
                return True
        if isinstance(p, ast.BinOp) and isinstance(p.op, (ast.Add, ast.Mod)) and any(
                isinstance(s, ast.Constant) and isinstance(s.value, str) for s in (p.left, p.right)):
            return True
        p = parents.get(p)
    return False


def findings(path: Path):
    """(line, function, what) for every number turned into text in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents, owner = {}, {}

    def visit(node, func):
        for ch in ast.iter_child_nodes(node):
            parents[ch] = node
            name = ch.name if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
            owner[ch] = name
            visit(ch, name)

    visit(tree, "<module>")
    out = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            spec = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.format_spec.values)
            # a nested field ("{x:.{d}f}", "{s:<{width}}") is judged with a number in its place
            if _numeric_spec(spec.replace("{}", "9")):
                what = f"format spec {spec!r}"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str) and _PERCENT.search(node.left.value):
            what = "%-formatting"
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id == "format" and len(node.args) >= 2:
                what = "format(x, spec)"
            elif isinstance(f, ast.Attribute) and f.attr == "format" and isinstance(f.value, ast.Constant) \
                    and isinstance(f.value.value, str) and any(_numeric_spec(m.group(1))
                                                               for m in _BRACE.finditer(f.value.value)):
                what = "str.format with a numeric spec"
            elif isinstance(f, ast.Name) and f.id == "round" and _in_text(node, parents):
                what = "round() into text"
            elif isinstance(f, ast.Attribute) and f.attr == "to_string":
                what = "DataFrame.to_string (use io.format.table_text)"
        if what:
            out.append((node.lineno, owner.get(node, "<module>"), what))
    return out


def _allowed(rel: str, func: str) -> bool:
    for (file, fn), _why in ALLOWLIST.items():
        same_file = rel == file or (file.endswith("/*") and rel.startswith(file[:-1]))
        if same_file and fn in ("*", func):
            return True
    return False


def test_numbers_become_text_only_in_the_formatter():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for line, func, what in findings(path):
            if not _allowed(rel, func):
                bad.append(f"src/hepatostat/{rel}:{line} in {func}(): {what}")
    assert not bad, ("numbers formatted outside hepatostat.io.format (use fmt, fmt_p, fmt_ci, fmt_n, fmt_sig, "
                     "table_text ...):\n" + "\n".join(bad))


def test_every_allowlist_entry_is_still_needed():
    # an entry that matches nothing is stale and would hide a future regression
    for (file, fn), why in ALLOWLIST.items():
        assert why.strip()
        paths = sorted((SRC / file[:-2]).rglob("*.py")) if file.endswith("/*") else [SRC / file]
        hits = [(ln, func) for p in paths if p.exists() for ln, func, _ in findings(p)]
        assert any(fn in ("*", func) for _, func in hits), f"allowlist entry {(file, fn)} matches nothing"


def test_the_checker_finds_each_pattern(tmp_path):
    # the checker must catch what it claims to catch (a test that cannot fail is no test)
    src = (
        "def f(x, n, d, frame):\n"
        "    a = f'{x:.3f}'\n"
        "    b = f'{n:,}'\n"
        "    c = f'{x:.{d}f}'\n"
        "    e = '%.2f' % x\n"
        "    g = format(x, '.4g')\n"
        "    h = '{:.1%}'.format(x)\n"
        "    i = 'value ' + str(round(x, 2))\n"
        "    j = frame.to_string(index=False)\n"
        "    ok = f'{n:>8}' + f'{x!r}' + str(round(x)) * 0\n"
        "    return a, b, c, e, g, h, i, j, ok\n"
    )
    p = tmp_path / "m.py"
    p.write_text(src)
    lines = sorted(ln for ln, _, _ in findings(p))
    # line 10 has str(round(x)) inside "+ ..." of strings, which is caught too; the padding spec is not
    assert lines[:8] == [2, 3, 4, 5, 6, 7, 8, 9]
    assert all(ln != 10 or what.startswith("round") for ln, _, what in findings(p))


def _p_after_equals(tree):
    """f-strings writing ``= {fmt_p(...)}``: fmt_p gives ``<0.001``, so the sentence read "P = <0.001"."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.JoinedStr):
            continue
        for before, part in zip(node.values, node.values[1:]):
            call = getattr(part, "value", None)
            if (isinstance(part, ast.FormattedValue) and isinstance(call, ast.Call)
                    and getattr(call.func, "id", getattr(call.func, "attr", None)) == "fmt_p"
                    and isinstance(before, ast.Constant) and str(before.value).rstrip().endswith("=")):
                found.append(node.lineno)
    return found


def test_p_values_in_sentences_use_fmt_p_eq():
    # "QM = 16.36 (P = <0.001)" in the review report's meta-regression note (found rendering the demo)
    bad = [f"{path.relative_to(SRC)}:{line}" for path in sorted(SRC.rglob("*.py"))
           for line in _p_after_equals(ast.parse(path.read_text(encoding="utf-8")))]
    assert not bad, "write P values in sentences with fmt_p_eq ('P < 0.001', 'P = 0.042'): " + ", ".join(bad)
    assert _p_after_equals(ast.parse('x = f"QM = {q} (P = {fmt_p(p)})"')) == [1]
