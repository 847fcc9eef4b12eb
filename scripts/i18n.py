#!/usr/bin/env python3
"""tatamu's message catalogs, kept in step with the code: extract, compile, check.

    python scripts/i18n.py extract   # the code's messages -> locale/tatamu.pot and each .po
    python scripts/i18n.py compile   # each .po -> its .mo (what tatamu reads at run time)
    python scripts/i18n.py check     # exit 1 when the .pot, a .po or a .mo is out of date,
                                     # or a message has no translation (lists them)
    python scripts/i18n.py font SOURCE.ttf   # the page's and figures' Japanese subset font

A message is a string literal in ``_("...")``, ``N_("...")``, ``ngettext("...", "...", n)``
or ``pgettext("context", "...")``, and the docstring of a function whose ``__doc__`` the same
module reads (the checker's check names). A comment ``# i18n: ...`` on the line above a call is
shown to the translator. Standard library only (the compiler follows CPython's
``Tools/i18n/msgfmt.py``), so it runs on a fresh machine without GNU gettext.
"""

from __future__ import annotations

import argparse
import ast
import re
import struct
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "tatamu"
LOCALE = PACKAGE / "locale"
POT = LOCALE / "tatamu.pot"
#: Besides the Python code: texts kept in other files (none yet; the page's are in Python).
HEADER = {
    "Project-Id-Version": "tatamu",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
}
PLURAL_FORMS = {"ja": "nplurals=1; plural=0;"}
CALLS = {"_": ("msgid",), "N_": ("msgid",), "ngettext": ("msgid", "plural"),
         "pgettext": ("context", "msgid")}


# -- the catalog's entries -----------------------------------------------------------------
@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    msgstr: list[str] = field(default_factory=lambda: [""])
    places: list[str] = field(default_factory=list)  # "src/tatamu/x.py:12"
    notes: list[str] = field(default_factory=list)  # to the translator (#.)
    comments: list[str] = field(default_factory=list)  # the translator's own (# )
    flags: set[str] = field(default_factory=set)  # "fuzzy", "python-brace-format"
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.msgid

    @property
    def translated(self) -> bool:
        return all(self.msgstr) and "fuzzy" not in self.flags


# -- extraction ----------------------------------------------------------------------------
def extract(package: Path = PACKAGE) -> dict[tuple, Entry]:
    """Every message in the package's code, in file and line order."""
    entries: dict[tuple, Entry] = {}
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(package.parent.parent).as_posix()
        for _line, context, msgid, plural, note in messages_in(source, where):
            entry = entries.setdefault((context, msgid), Entry(msgid, context, plural))
            if where not in entry.places:  # files, not lines (xgettext --add-location=file):
                entry.places.append(where)  # an edit elsewhere in a file changes no catalog
            if note and note not in entry.notes:
                entry.notes.append(note)
            if "{" in msgid:
                entry.flags.add("python-brace-format")
    return entries


def messages_in(source: str, where: str = "<source>"):
    """(line, context, msgid, plural, note) for each message in ``source``, in line order."""
    return sorted(_messages_in(source, where), key=lambda m: m[0])


def _messages_in(source: str, where: str):
    tree = ast.parse(source)
    lines = source.splitlines()
    documented = {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                  and n.attr == "__doc__" and isinstance(n.value, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in documented:
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield node.body[0].lineno, None, doc, None, "a check's name (its docstring)"
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in CALLS):
            continue
        roles = CALLS[node.func.id]
        args = node.args[:len(roles)]
        if len(args) < len(roles):
            continue
        found = {}
        for role, arg in zip(roles, args, strict=True):
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found[role] = arg.value
            elif isinstance(arg, ast.JoinedStr):
                raise SyntaxError(f"{where}:{node.lineno}: {node.func.id}() of an f-string "
                                  "cannot be looked up: write _(\"... {name} ...\", name=value)")
        if "msgid" not in found:
            continue  # _(variable): a message marked elsewhere (N_) translated where shown
        above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
        note = above.split("i18n:", 1)[1].strip() if above.startswith("# i18n:") else None
        yield node.lineno, found.get("context"), found["msgid"], found.get("plural"), note


# -- reading and writing .po ------------------------------------------------------------------
def _unquote(text: str) -> str:
    return ast.literal_eval(text) if text.startswith('"') else text


def read_po(path: Path) -> tuple[dict[str, str], dict[tuple, Entry]]:
    """(header fields, entries) of a .po file whose entries are separated by blank lines (as
    this script and GNU gettext write them); obsolete (#~) entries included, marked."""
    header: dict[str, str] = {}
    entries: dict[tuple, Entry] = {}
    for block in re.split(r"\n[ \t]*\n", path.read_text(encoding="utf-8")):
        entry, last, seen = Entry(""), None, False
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith("#~"):
                entry.obsolete, line = True, line[2:].strip()
            if not line or line.startswith("#|"):
                continue
            if line.startswith("#"):
                kind, text = line[:2], line[2:].strip()
                if kind == "#:":
                    entry.places += text.split()
                elif kind == "#.":
                    entry.notes.append(text)
                elif kind == "#,":
                    entry.flags |= {f.strip() for f in text.split(",") if f.strip()}
                else:
                    entry.comments.append(line[1:].strip())
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                text = _unquote(line)
            else:
                text = _unquote(rest.strip())
                last = keyword
                seen |= keyword == "msgid"
            if last == "msgctxt":
                entry.context = (entry.context if line.startswith('"') else "") + text
            elif last == "msgid":
                entry.msgid = (entry.msgid if line.startswith('"') else "") + text
            elif last == "msgid_plural":
                entry.plural = (entry.plural if line.startswith('"') else "") + text
            elif last is not None and last.startswith("msgstr"):
                index = int(last[7:-1]) if last != "msgstr" else 0
                while len(entry.msgstr) <= index:
                    entry.msgstr.append("")
                entry.msgstr[index] = (entry.msgstr[index] if line.startswith('"') else "") + text
            else:
                raise ValueError(f"{path}: cannot read the line {raw!r}")
        if not seen:
            continue
        if entry.msgid == "" and entry.context is None:
            for field_line in entry.msgstr[0].splitlines():
                name, _, value = field_line.partition(":")
                header[name.strip()] = value.strip()
        else:
            entries[entry.key] = entry
    return header, entries


def _quote(text: str) -> str:
    return '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                  .replace("\t", "\\t")) + '"'


def _field(keyword: str, text: str, prefix: str = "", width: int = 79) -> list[str]:
    """``msgid "..."``, long or multi-line texts split as xgettext does."""
    if len(keyword) + len(_quote(text)) + 1 <= width and "\n" not in text[:-1]:
        return [f"{prefix}{keyword} {_quote(text)}"]
    out = [f'{prefix}{keyword} ""']
    for piece in re.findall(r"[^\n]*\n|[^\n]+", text):
        while len(_quote(piece)) > width - 2:
            cut = piece.rfind(" ", 0, width - 12)
            cut = cut + 1 if cut > 0 else width - 12
            out.append(prefix + _quote(piece[:cut]))
            piece = piece[cut:]
        out.append(prefix + _quote(piece))
    return out


def format_entry(entry: Entry, places: bool = True) -> list[str]:
    prefix = "#~ " if entry.obsolete else ""
    lines = [f"# {c}".rstrip() for c in entry.comments]
    lines += [f"#. {n}" for n in entry.notes]
    if places and entry.places and not entry.obsolete:
        lines += ["#: " + " ".join(entry.places[i:i + 3]) for i in range(0, len(entry.places),
                                                                           3)]
    if entry.flags:
        lines.append("#, " + ", ".join(sorted(entry.flags)))
    if entry.context is not None:
        lines += _field("msgctxt", entry.context, prefix)
    lines += _field("msgid", entry.msgid, prefix)
    if entry.plural is not None:
        lines += _field("msgid_plural", entry.plural, prefix)
        for i, text in enumerate(entry.msgstr):
            lines += _field(f"msgstr[{i}]", text, prefix)
    else:
        lines += _field("msgstr", entry.msgstr[0], prefix)
    return lines


def format_po(header: dict[str, str], entries, title: str) -> str:
    lines = [f"# {title}", "# This file is distributed under the same license as tatamu (MIT).",
             'msgid ""', 'msgstr ""']
    lines += [_quote(f"{k}: {v}\n") for k, v in header.items()]
    for entry in entries:
        lines += ["", *format_entry(entry)]
    return "\n".join(lines) + "\n"


# -- keeping the catalogs in step with the code -----------------------------------------------
def languages() -> list[str]:
    return sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES").is_dir())


def po_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "tatamu.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def expected_pot(found: dict[tuple, Entry]) -> str:
    return format_po(HEADER, found.values(), "The messages of tatamu, extracted from its code "
                                             "by scripts/i18n.py (do not edit).")


def merged_po(language: str, found: dict[tuple, Entry]) -> str:
    """The language's .po with the code's messages: translations kept, new ones empty,
    ones the code no longer has kept at the end as obsolete (#~) for reuse."""
    path = po_path(language)
    header, old = read_po(path) if path.exists() else ({}, {})
    header = {**HEADER, "Language": language, "Plural-Forms": PLURAL_FORMS.get(
        language, "nplurals=2; plural=(n != 1);"), **{k: v for k, v in header.items()
                                                      if k not in HEADER and k != "Language"}}
    entries = []
    for key, entry in found.items():
        new = Entry(entry.msgid, entry.context, entry.plural, places=entry.places,
                    notes=entry.notes, flags=set(entry.flags))
        nplurals = int(re.search(r"nplurals=(\d+)", header["Plural-Forms"]).group(1))
        new.msgstr = [""] * (nplurals if entry.plural is not None else 1)
        before = old.get(key)
        if before is not None:
            new.comments = before.comments
            new.flags |= before.flags & {"fuzzy"}
            for i, text in enumerate(before.msgstr[:len(new.msgstr)]):
                new.msgstr[i] = text
        entries.append(new)
    gone = [replace(e, obsolete=True) for key, e in old.items()
            if key not in found and any(e.msgstr)]
    return format_po(header, entries + gone, f"tatamu's messages in {language}, translated by "
                                             "hand (see docs/guide/language.md).")


def compile_mo(entries) -> bytes:
    """The GNU .mo of these entries (header first); untranslated and fuzzy ones left out.

    The layout of CPython's Tools/i18n/msgfmt.py: a table of (length, offset) pairs for the
    sorted keys, one for their translations, then the strings, each NUL-terminated.
    """
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete or not (entry.translated or entry.msgid == ""):
            continue
        key = entry.msgid if entry.plural is None else f"{entry.msgid}\0{entry.plural}"
        if entry.context is not None:
            key = f"{entry.context}\x04{key}"
        messages[key.encode()] = "\0".join(entry.msgstr).encode()
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for key in keys:
        offsets.append((len(ids), len(key), len(strs), len(messages[key])))
        ids += key + b"\0"
        strs += messages[key] + b"\0"
    start = 7 * 4 + 16 * len(keys)  # the header, then both tables of (length, offset)
    key_table, value_table = [], []
    for id_at, id_len, str_at, str_len in offsets:
        key_table += [id_len, id_at + start]
        value_table += [str_len, str_at + start + len(ids)]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    tables = struct.pack(f"{len(key_table)}i", *key_table) + struct.pack(
        f"{len(value_table)}i", *value_table)
    return header + tables + ids + strs


def mo_of(language: str) -> bytes:
    header, entries = read_po(po_path(language))
    head = Entry("", msgstr=["".join(f"{k}: {v}\n" for k, v in header.items())])
    return compile_mo([head, *entries.values()])


def untranslated(language: str) -> list[Entry]:
    _, entries = read_po(po_path(language))
    return [e for e in entries.values() if not e.obsolete and not e.translated]


def problems() -> list[str]:
    """What is out of step; empty when the catalogs hold the code's messages, translated, and
    each .mo is its .po compiled. Messages are compared, not files: moving a line of code or a
    message within the code needs no new catalog."""
    found = extract()
    wanted = {key: e.plural for key, e in found.items()}
    out = []
    pot = {key: e.plural for key, e in read_po(POT)[1].items()} if POT.exists() else {}
    if pot != wanted:
        out.append(f"{POT.relative_to(ROOT)} is out of date: run python scripts/i18n.py extract")
    for language in languages():
        po = po_path(language)
        entries = {key: e for key, e in read_po(po)[1].items() if not e.obsolete}
        absent = [f"\n    {e.places[0]}: {key[1]!r}" for key, e in found.items()
                  if key not in entries or entries[key].plural != e.plural]
        if absent:
            out.append(f"{po.relative_to(ROOT)} lacks {len(absent)} of the code's messages (run "
                       "python scripts/i18n.py extract):" + "".join(absent))
        missing = [e for key, e in entries.items() if key in found and not e.translated]
        if missing:
            out.append(f"{po.relative_to(ROOT)}: {len(missing)} messages have no translation:"
                       + "".join(f"\n    {e.places[0] if e.places else '?'}: {e.msgid!r}"
                                 for e in missing))
        mo = mo_path(language)
        if not mo.exists() or mo.read_bytes() != mo_of(language):
            out.append(f"{mo.relative_to(ROOT)} is out of date: run python scripts/i18n.py "
                       "compile")
    return out


# -- the Japanese font --------------------------------------------------------------------
FONT = LOCALE / "fonts" / "tatamu-ja.ttf"
FONT_FAMILY = "tatamu-ja"
#: Beyond the catalog's characters: every kana, the CJK and full-width punctuation and printable
#: ASCII, so a word added to the catalog rarely needs a new font (kanji do).
FONT_BASE = ("".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0x3000, 0x3040)))
             + "".join(map(chr, range(0x3041, 0x3097))) + "".join(map(chr, range(0x30A0, 0x3100)))
             + "".join(map(chr, range(0xFF01, 0xFF5F))) + "×")


def catalog_characters(language: str = "ja") -> set[str]:
    """Every character the language's translations use."""
    _, entries = read_po(po_path(language))
    return {c for e in entries.values() if not e.obsolete for text in e.msgstr for c in text}


def make_font(source: Path, out: Path = FONT) -> str:
    """Subset ``source`` (a TrueType font, e.g. Debian's fonts-morisawa-bizud-gothic
    BIZUDPGothic-Regular.ttf, SIL OFL 1.1) to the catalog's characters, renamed tatamu-ja as
    the OFL asks of a modified font; fontTools comes with matplotlib."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    keep = {ord(c) for c in catalog_characters() | set(FONT_BASE) if not c.isspace() or c == " "}
    keep &= set(font.getBestCmap())
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]
    options.notdef_outline = True
    options.hinting = False  # screens at today's resolutions do without: a third of the size
    options.drop_tables += ["meta", "DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(keep))
    subsetter.subset(font)
    origin = font["name"].getDebugName(4)
    names = {1: FONT_FAMILY, 3: f"{FONT_FAMILY};subset of {origin}", 4: FONT_FAMILY,
             6: FONT_FAMILY, 16: FONT_FAMILY}
    table = font["name"]
    for record in list(table.names):
        if record.nameID in (16, 17, 21, 22):
            table.removeNames(nameID=record.nameID)
    for name_id, text in names.items():
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    table.setName(f"tatamu's Japanese glyphs: a subset of {origin}, made by scripts/i18n.py "
                  "font", 10, 3, 1, 0x409)
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    size = out.stat().st_size
    return f"{out.relative_to(ROOT)}: {len(keep)} characters from {source.name}, {size:,} bytes"


# -- the command ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("extract", help="update locale/tatamu.pot and every .po from the code")
    sub.add_parser("compile", help="compile every .po into its .mo")
    sub.add_parser("check", help="exit 1 when anything is out of step (CI)")
    new = sub.add_parser("init", help="start the catalog of a new language")
    new.add_argument("language")
    font = sub.add_parser("font", help="make the Japanese subset font from a TrueType font")
    font.add_argument("source", type=Path)
    args = parser.parse_args(argv)
    if args.action == "init":
        po_path(args.language).parent.mkdir(parents=True, exist_ok=True)
        po_path(args.language).write_text(merged_po(args.language, extract()), encoding="utf-8")
        return 0
    if args.action == "extract":
        found = extract()
        POT.write_text(expected_pot(found), encoding="utf-8")
        for language in languages():
            po_path(language).write_text(merged_po(language, found), encoding="utf-8")
            print(f"{po_path(language).relative_to(ROOT)}: {len(found)} messages, "
                  f"{len(untranslated(language))} without translation")
        return 0
    if args.action == "compile":
        for language in languages():
            mo_path(language).write_bytes(mo_of(language))
            print(f"{mo_path(language).relative_to(ROOT)} written")
        return 0
    if args.action == "font":
        print(make_font(args.source))
        return 0
    found = problems()
    print("\n".join(found) or "catalogs up to date", file=sys.stderr if found else sys.stdout)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
