"""tatamu in Japanese: the catalog is complete and in step with the code, the glossary's words are
used, numbers and code stay as they are, and the language is chosen as documented.

The catalog tests read the code and the .po/.mo with ``scripts/i18n.py`` (the tool a translator
runs), so a message added to the code without a translation, a stale .mo or a glossary term
translated another way fails here with the list of what to fix.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

import tatamu
from tatamu import i18n
from tatamu.errors import ConfigError
from tatamu.i18n import _, language, set_language, using_language

ROOT = Path(__file__).resolve().parents[1]
PLANTED = ROOT / "tests" / "learners"
FIELD = re.compile(r"\{[^{}]*\}|%(?:\(\w+\))?[sr]")


def load_tool():
    spec = importlib.util.spec_from_file_location("i18n_catalog_tool", ROOT / "scripts/i18n.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool  # a dataclass module must be importable by name
    spec.loader.exec_module(tool)
    return tool


tool = load_tool()


@pytest.fixture(scope="module")
def catalog():
    """The Japanese .po's translated entries: [(msgid, msgstr, place)]."""
    _header, entries = tool.read_po(tool.po_path("ja"))
    return [(e.msgid, text, e.places[0] if e.places else "?") for e in entries.values()
            if not e.obsolete for text in e.msgstr]


@pytest.fixture(autouse=True)
def english_unless_asked():
    """Each test starts from the suite's English and leaves no language set behind."""
    set_language(None)
    yield
    set_language(None)


# -- the catalog against the code ------------------------------------------------------------------
def test_every_message_of_the_code_is_in_the_catalog():
    """A message added to the code without `scripts/i18n.py extract` is listed here."""
    code = tool.extract()
    _header, entries = tool.read_po(tool.po_path("ja"))
    missing = [f"{e.places[0]}: {key[1]!r}" for key, e in code.items() if key not in entries]
    assert not missing, ("messages not in the catalog (run python scripts/i18n.py extract, then "
                         "translate them):\n" + "\n".join(missing))


def test_every_message_has_a_japanese_translation():
    missing = [f"{e.places[0] if e.places else '?'}: {e.msgid!r}"
               for e in tool.untranslated("ja")]
    assert not missing, "messages without Japanese (see docs/guide/language.md):\n" + "\n".join(
        missing)


def test_the_catalogs_are_in_step_and_the_mo_is_compiled_from_the_po():
    assert tool.problems() == []


def test_the_mo_equals_what_gnu_msgfmt_makes(tmp_path):
    """The pure-Python compiler against the reference, where GNU gettext is installed."""
    msgfmt = Path("/usr/bin/msgfmt")
    if not msgfmt.exists():
        pytest.skip("GNU gettext's msgfmt is not installed (apt-get install gettext)")
    out = tmp_path / "gnu.mo"
    done = subprocess.run([str(msgfmt), "--check-format", "-o", str(out),
                           str(tool.po_path("ja"))], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    import gettext

    ours = gettext.GNUTranslations(tool.mo_path("ja").open("rb"))
    gnu = gettext.GNUTranslations(out.open("rb"))
    assert ours._catalog == gnu._catalog


def test_a_translation_keeps_every_field_of_its_message(catalog):
    """{name}, {value:.2f} and %s fields: a lost or misspelled one would fail at run time."""
    wrong = [f"{place}: {msgid!r} -> {text!r}" for msgid, text, place in catalog
             if ("{" in msgid or "%" in msgid)
             and sorted(FIELD.findall(msgid)) != sorted(FIELD.findall(text))]
    assert not wrong, "\n".join(wrong)


def test_the_extractor_refuses_an_f_string():
    with pytest.raises(SyntaxError, match="f-string"):
        list(tool.messages_in('x = 1\n_(f"{x} windows")\n'))
    found = tool.messages_in('_("a {n}", n=1)\nN_("b")\nngettext("c", "cs", 2)\n'
                             'pgettext("ctx", "d")\n')
    assert [(m[1], m[2], m[3]) for m in found] == [
        (None, "a {n}", None), (None, "b", None), (None, "c", "cs"), ("ctx", "d", None)]


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp,
          ast.DictComp, ast.GeneratorExp)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def binds_underscore(scope) -> bool:
    """Whether ``scope`` (a function, lambda or comprehension) makes ``_`` a local name."""
    if isinstance(scope, COMPREHENSIONS) and any(
            isinstance(n, ast.Name) and n.id == "_" for g in scope.generators
            for n in ast.walk(g.target)):
        return True
    if not isinstance(scope, COMPREHENSIONS) and not isinstance(scope, ast.Module):
        args = scope.args
        if any(a.arg == "_" for a in args.args + args.kwonlyargs + args.posonlyargs):
            return True

    def visit(node) -> bool:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, COMPREHENSIONS):
                if visit(child.generators[0].iter):  # evaluated in the enclosing scope
                    return True
                continue
            if isinstance(child, SCOPES):
                continue
            if (isinstance(child, ast.Name) and child.id == "_"
                    and isinstance(child.ctx, ast.Store)) or (
                    isinstance(child, ast.ExceptHandler) and child.name == "_") or visit(child):
                return True
        return False

    return visit(scope)


def shadowed_calls(tree) -> list[int]:
    """Lines calling ``_()`` where ``_`` is a local name of that scope or of one around it."""
    lines = []

    def walk(node, shadowed: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = shadowed or (isinstance(child, SCOPES) and binds_underscore(child))
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
                    and child.func.id == "_" and inner):
                lines.append(child.lineno)
            walk(child, inner)

    walk(tree, False)
    return lines


@pytest.mark.parametrize("source, count", [
    ("def f():\n    a, _ = 1, 2\n    return _('x')\n", 1),
    ("def f(p):\n    y = [x for _, x in p]\n    return _('x')\n", 0),  # the comprehension's
    ("def f(p):\n    return [_(x) for _, x in p]\n", 1),
    ("def f():\n    def g():\n        return _('x')\n    _ = 3\n", 1),
    ("def f():\n    for _ in range(3):\n        pass\n    return _('x')\n", 1),
])
def test_the_underscore_rule_itself(source, count):
    assert len(shadowed_calls(ast.parse(source))) == count


def test_no_function_calls_the_translation_where_underscore_is_a_local_name():
    """`_, x = pair` in a function that calls `_()` makes `_` a local: the error path crashes."""
    problems = [f"{path.relative_to(ROOT)}:{line}"
                for path in sorted((ROOT / "src" / "tatamu").rglob("*.py"))
                for line in shadowed_calls(ast.parse(path.read_text(encoding="utf-8")))]
    assert not problems, "rename the throwaway `_` (e.g. `_rest`) in:\n" + "\n".join(problems)


# -- the words: the glossary, and what is never translated --------------------------------------
GLOSSARY = ROOT / "src/tatamu/locale/glossary.ja.tsv"


def glossary() -> list[tuple[str, str]]:
    """(english, japanese), longest English first ("convolution layer" before "convolution")."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            english, japanese = line.split("\t")[:2]
            rows.append((english, japanese))
    return sorted(rows, key=lambda row: -len(row[0]))


#: The book's class names, which name code, not the idea (Convolution, Pooling...).
CLASSES = r"Convolution|Pooling|Affine|Relu|ReLU|SoftmaxWithLoss|Linear|Dropout"
#: What is code in a message, not English: fields, quoted names, an option and its value, a
#: list of names in brackets, paths, slices (y:y_max:stride), identifiers with a dot, an
#: underscore or a digit, calls, a capitalised name before ":" "(" or ".", a word inside a
#: formula (// stride + 1, stride - 1), package names (dataset-fashion-mnist) and the book's
#: class names.
CODE = re.compile(rf"""\{{[^{{}}]*\}}|(?<!\w)'[^']*'(?!\w)|"[^"]*"|`[^`]*`
                   |--?[A-Za-z][\w-]*(?:\ [a-z]\w*)?|\((?:\w+,\ )+\w+\)
                   |\b[\w.]+(?:/[\w.]+)+|\b\w+(?::\w+)+|\b\w+\([^()]*\)|\b\w*[._]\w[\w.]*
                   |\b\w*\d\w*\b
                   |\b[A-Z]\w*(?=[:(.])|(?<=[+*/%=-]\ )\w+|\w+(?=\ [+*/%=-]\ )
                   |\b\w+(?:-\w+){{2,}}|\b(?:{CLASSES})\b""", re.X)
#: Uses of an English word that are not the glossary's term: "the seeds' example" is the
#: source material (元資料), not a random seed; a "sample standard deviation" is statistics'
#: 標本, not a data sample.
NOT_THE_TERM = {"seed": re.compile(r"\bseeds'"),
                "sample": re.compile(r"\bsample standard deviation")}


def prose(text: str) -> str:
    """The English words of a message, its code blanked out."""
    return CODE.sub(" ", text)


def test_the_catalog_uses_the_glossarys_words(catalog):
    terms = glossary()
    wrong = []
    for msgid, text, place in catalog:
        english = msgid
        for pattern in NOT_THE_TERM.values():
            english = pattern.sub(" ", english)
        english = prose(english)
        for term, japanese in terms:
            pattern = re.compile(rf"\b{re.escape(term)}(?:s|es)?\b", re.I)
            if pattern.search(english):
                english = pattern.sub(" ", english)  # a longer term took it
                if japanese not in text:
                    wrong.append(f"{place}: {term!r} is {japanese!r}: {msgid!r} -> {text!r}")
    assert not wrong, f"translate as the glossary says ({GLOSSARY.name}):\n" + "\n".join(wrong)


def spellings_not_to_use() -> dict[str, re.Pattern]:
    """The glossary's fourth column: {japanese term: the other spellings, as one pattern}."""
    out = {}
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if not line.startswith("#") and len(fields) > 3 and fields[3]:
            out[fields[1]] = re.compile("|".join(fields[3].split(",")))
    return out


def test_the_glossary_names_each_term_once():
    terms = glossary()
    assert len({t for t, _j in terms}) == len(terms)
    assert spellings_not_to_use()["フィルター"].search("フィルタを") is not None


def test_the_catalog_spells_the_terms_as_the_glossary_does(catalog):
    wrong = [f"{place}: {pattern.pattern!r} in {text!r} (the glossary writes {japanese})"
             for japanese, pattern in spellings_not_to_use().items()
             for _msgid, text, place in catalog if pattern.search(text)]
    assert not wrong, "\n".join(wrong)


def test_the_japanese_tutorial_uses_the_glossarys_words():
    text = (ROOT / "docs/tutorial.ja.md").read_text(encoding="utf-8")
    own = re.sub(r"「[^」]*」", " ", re.sub(r"```.*?```", " ", text, flags=re.S))  # not a quote
    for japanese in ("畳み込み", "フィルター", "ストライド", "パディング", "出力サイズ",
                     "特徴マップ", "積和演算", "レイヤ", "エポック", "勾配"):
        assert japanese in own, japanese
    wrong = [f"{pattern.pattern!r} (the glossary writes {japanese})"
             for japanese, pattern in spellings_not_to_use().items() if pattern.search(own)]
    assert not wrong, "\n".join(wrong)


#: Code in a message that its translation must keep as it is: options, calls, dotted names,
#: shapes such as (N, C, H, W), and numbers.
KEPT = re.compile(r"--[a-z][\w-]*|\b\w+(?:\.\w+)+(?:\([^()]*\))?|\b\w+\([^()]*\)"
                  r"|\([A-Z][A-Z*]*(?:, ?[A-Z][A-Z*]*)+\)|\b\d+(?:\.\d+)?\b")


def test_numbers_and_code_stay_as_they_are(catalog):
    lost = []
    for msgid, text, place in catalog:
        keep = {k for k in KEPT.findall(msgid) if not k.endswith("(s)")} - {"e.g", "i.e"}
        gone = sorted(k for k in keep if k not in text)
        if gone:
            lost.append(f"{place}: {gone} missing from {text!r}")
    assert not lost, "\n".join(lost)


def test_every_japanese_character_is_in_tatamus_font(catalog):
    """A new kanji in the catalog needs the font made again: python scripts/i18n.py font FONT."""
    from fontTools.ttLib import TTFont

    covered = set(TTFont(i18n.japanese_font().open("rb")).getBestCmap())
    wide = {c for _id, text, _p in catalog for c in text
            if unicodedata.east_asian_width(c) in "WF" and ord(c) not in covered}
    assert not wide, f"characters the font lacks: {''.join(sorted(wide))}"


# -- choosing the language ---------------------------------------------------------------------
@pytest.mark.parametrize("environ, expected", [
    ({}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "C"}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, "ja"),
    ({"LC_ALL": "C", "LC_MESSAGES": "ja_JP.UTF-8", "LANG": "ja_JP"}, "en"),
    ({"LC_ALL": "ja_JP.eucJP", "LANG": "C"}, "ja"),
    ({"TATAMU_LANG": "en", "LC_ALL": "ja_JP.UTF-8"}, "en"),
    ({"TATAMU_LANG": "ja", "LANG": "C"}, "ja"),
    ({"TATAMU_LANG": "ja-JP"}, "ja"),
    ({"TATAMU_LANG": "xx", "LANG": "ja_JP.UTF-8"}, "en"),
], ids=lambda v: str(v))
def test_the_environment_chooses_tatamu_lang_then_the_locale(environ, expected):
    assert i18n.from_environment(environ) == expected


def test_set_language_and_using_language(monkeypatch):
    monkeypatch.setenv("TATAMU_LANG", "ja")
    assert language() == "ja"
    set_language("en")
    assert language() == "en" and _("tatamu: interrupted") == "tatamu: interrupted"
    tatamu.set_language("ja")  # the public name
    assert _("tatamu: interrupted") == "tatamu: 中断しました"
    with using_language("en"):
        assert language() == "en"
        seen = []
        worker = threading.Thread(target=lambda: seen.append(language()))
        worker.start()
        worker.join()
        assert seen == ["ja"]  # using_language is this thread's only
    assert language() == "ja"
    with pytest.raises(ConfigError, match="'en' or 'ja'"):
        set_language("fr")
    set_language(None)
    assert language() == "ja"  # back to the environment


def test_the_modules_examples_run():
    import doctest

    result = doctest.testmod(i18n)
    assert result.attempted >= 6 and result.failed == 0
    assert language() == "en"  # the example set Japanese and went back


def test_japanese_wraps_by_columns_between_characters():
    text = ("ウィンドウ out[i,\u00a0j] では、重み W[a,\u00a0b] がその下の入力のセルに"
            "掛けられました。")
    lines = i18n.wrap_columns(text, 24, "  ")
    assert all(i18n.text_width(line) <= 24 for line in lines) and len(lines) > 2
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # only line breaks added
    assert not any(line.strip().startswith(("、", "。")) for line in lines)
    assert any("W[a,\u00a0b]" in line for line in lines)  # an index is never split


def test_formatting_and_plural_forms():
    with using_language("ja"):
        assert i18n.ngettext("{n} check: {passed} passed", "{n} checks: {passed} passed", 11,
                             passed=9) == "11 個のチェック: 合格 9"
    assert i18n.ngettext("after training: {n} epoch", "after training: {n} epochs", 1) == (
        "after training: 1 epoch")
    assert i18n.text_width("入力 (4x4)") == 10 and i18n.pad_columns("合格", 6) == "合格  "


# -- the commands in Japanese -----------------------------------------------------------------
def japanese_diagnosis(english: str) -> str:
    with using_language("ja"):
        return _(english)


@pytest.mark.parametrize("target, english", [
    ("planted_conv.py:Col2imOverwrites",
     "col2im overwrites where windows overlap: a pixel in several windows must get the sum of "
     "their gradients (img[...] += col[...], not =)"),
    ("planted_conv.py:FlippedKernel",
     "the kernel is flipped (a true convolution, as scipy.signal.convolve2d does): CNNs and the "
     "book slide the filter as it is (cross-correlation); do not rotate W"),
    ("planted_pool.py:MeanNotMax",
     "this is average pooling: take np.max of each row, not the mean"),
])
def test_check_on_a_planted_mistake_prints_the_japanese_diagnosis(target, english):
    status, out, _err = run_cli("check", PLANTED / target, "--lang", "ja")
    assert status == 1
    japanese = japanese_diagnosis(english)
    assert japanese != english and re.search(r"[ぁ-ん]", japanese)
    assert f"        診断: {japanese}" in out.splitlines()
    assert "不合格" in out and "FAIL" not in out and "diagnosis" not in out
    # the same run in English (the default) says it in English
    status, out, _err = run_cli("check", PLANTED / target)
    assert f"        diagnosis: {english}" in out.splitlines()


def test_lang_goes_before_or_after_the_command():
    before = run_cli("--lang", "ja", "explain", "conv")
    after = run_cli("explain", "conv", "--lang=ja")
    assert before == after and before[0] == 0
    assert before[1].startswith("畳み込み: 4x4 の入力 ⊛ 3x3 のフィルター")


def test_explain_in_japanese_keeps_every_number_and_formula():
    english = run_cli("explain", "conv", "--padding", "1", "--stride", "1")[1].splitlines()
    japanese = run_cli("explain", "conv", "--padding", "1", "--lang", "ja")[1].splitlines()
    assert len(english) == len(japanese)
    ascii_lines = [(e, j) for e, j in zip(english, japanese, strict=True) if j.isascii()]
    assert len(ascii_lines) > 40  # the grids, the formulas and every multiply-add
    assert all(e == j for e, j in ascii_lines)
    assert "  OH = (H + 2P - FH) / S + 1 = (4 + 2*1 - 3) / 1 + 1 = 3 / 1 + 1 = 4" in japanese


@pytest.mark.parametrize("topic", ["conv-backward", "pool-backward", "col2im"])
def test_the_backward_walkthroughs_in_japanese_keep_every_sum(topic):
    english = run_cli("explain", topic)[1].splitlines()
    japanese = run_cli("explain", topic, "--lang", "ja")[1]
    sums = [line for line in english if re.fullmatch(r"[\s\d.+*=/-]+", line) and line.strip()
            or re.match(r"\s*(db|dW\[\d, \d\]|dx\[\d, \d\]) = ", line)]
    assert len(sums) > 5
    # the same numbers and sums (side-by-side blocks may sit further apart: wider labels)
    assert {" ".join(line.split()) for line in sums} <= {" ".join(line.split())
                                                         for line in japanese.splitlines()}
    assert re.search(r"[ぁ-ん]", japanese) and "ステップ 1." in japanese


def test_the_locale_alone_chooses_japanese_for_a_command():
    env = {k: v for k, v in os.environ.items() if k not in ("TATAMU_LANG", "LC_ALL",
                                                            "LC_MESSAGES", "LANGUAGE")}
    run = subprocess.run([sys.executable, "-m", "tatamu", "size", "7", "--kernel", "3",
                          "--stride", "2"], env={**env, "LANG": "ja_JP.UTF-8"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "出力サイズ: 3" in run.stdout, run.stderr
    run = subprocess.run([sys.executable, "-m", "tatamu", "size", "7", "--kernel", "3",
                          "--stride", "2"], env={**env, "LANG": "ja_JP.UTF-8",
                                                 "TATAMU_LANG": "en"},
                         capture_output=True, text=True, timeout=120)
    assert "output size: 3" in run.stdout


def test_errors_and_argparse_speak_japanese_in_one_line():
    status, _out, err = run_cli("--lang", "ja", "check")
    assert status == 2 and err.count("\n") == 1
    assert err == ("tatamu: エラー: 次の引数が必要です: FILE[:Name]（'tatamu check --help' を参照）"
                   "\n")
    status, _out, err = run_cli("explain", "conv", "--stride", "2", "--lang", "ja")
    assert status == 2
    line = err.splitlines()[-1]
    # the library's message, its fixes written as this command's options
    assert line.startswith("tatamu: エラー: H 方向の出力サイズが割り切れません")
    assert "--rounding floor" in line and "--rounding ceil" in line and "--stride" in line
    status, _out, err = run_cli("train", "--lang", "fr")
    assert status == 2 and err == "tatamu: error: --lang takes en or ja; got 'fr'\n"


def test_help_in_japanese():
    status, out, _err = run_cli("--lang", "ja", "check", "--help")
    assert status == 0
    assert out.startswith("使い方: tatamu check")
    assert "オプション:" in out and "--kind KIND" in out
    assert "セキュリティーの境界ではありません" in out
    assert max(i18n.text_width(line) for line in out.splitlines()) <= 100  # wrapped by columns
    assert "Maxプーリング" in out  # the kinds' interfaces, in Japanese too


def test_a_bad_tatamu_lang_is_a_warning_not_an_error(monkeypatch):
    monkeypatch.setenv("TATAMU_LANG", "jp")
    status, out, err = run_cli("size", "7", "--kernel", "3")
    assert status == 0 and "output size: 5" in out
    assert "TATAMU_LANG=jp is not a language tatamu speaks" in err


def test_the_summary_table_lines_up_in_japanese():
    status, out, _err = run_cli("--lang", "ja", "summary", "simple")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["レイヤ", "種類", "出力の形状", "パラメータ"]
    rule = lines[1]
    assert set(rule) == {"-"} and i18n.text_width(lines[0]) <= len(rule)
    assert "パラメータの合計:" in lines[-1]


# -- JSON keeps its English keys -----------------------------------------------------------------
def test_a_run_in_japanese_writes_english_keys(tmp_path):
    folder = tmp_path / "run"
    status, out, err = run_cli("--lang", "ja", "train", "--limit", "200", "--test-limit", "100",
                               "--epochs", "1", "--batch-size", "50", "--no-progress",
                               "--out", folder)
    assert status == 0, err
    assert "テストデータの精度:" in out and "エポック 1/1:" in err
    history = json.loads((folder / "history.json").read_text())
    assert {"epoch", "train_loss", "val_accuracy", "stop_reason"} <= set(history)
    plan = json.loads((folder / "plan.json").read_text())
    assert {"model", "dataset", "epochs", "batch_size"} <= set(plan)
    assert tatamu.load(folder / "best.npz") is not None


def test_check_json_in_japanese_keeps_the_check_names_english():
    """A check's name is data (a rubric matches it, a test indexes report["..."]): only the
    words around it are translated, the templated ones too."""
    target = f"{PLANTED / 'planted_conv.py'}:Col2imOverwrites"
    names = {}
    for lang in ("en", "ja"):
        status, out, _err = run_cli("--lang", lang, "check", target, "--json")
        assert status == 1
        names[lang] = [c["name"] for c in json.loads(out)["layers"][0]["checks"]]
    assert names["ja"] == names["en"]
    assert any("does not divide" in name for name in names["en"])
    status, out, _err = run_cli("--lang", "ja", "check", target)
    assert "割り切れないサイズ（(6 - 3)/2 + 1 = 2.5）を拒否する" in out


def test_grading_in_japanese_gives_japanese_feedback_and_keeps_the_data_english(tmp_path):
    """The child processes check in the grader's language; the gradebook's data stays English
    (a rubric's patterns match either language)."""
    import shutil

    folder, out = tmp_path / "class", tmp_path / "grades"
    folder.mkdir()
    for name in ("anna.py", "emi.py", "sora.py"):
        shutil.copy(ROOT / "tests/grading/class" / name, folder)
    status, text, err = run_cli("--lang", "ja", "grade", folder, "--kind", "conv", "--out", out,
                                "--no-progress", "--timeout", "30")
    assert status == 0, err
    assert "3 件の提出物を採点しました" in text
    emi = (out / "feedback" / "emi.md").read_text(encoding="utf-8")
    assert emi.startswith("# emi さんへのフィードバック")
    assert "### 不合格: " in emi and "考えられる間違い: " in emi
    assert "col2im が足すべき所で上書きしています" in emi  # the child's diagnosis
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# 採点のまとめ") and "| crash | 1 | " in summary
    assert "（終了ステータス 0）" in summary  # sora's reason, in the grader's language
    header = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("submission,score,max_score,status,reason,convolution: ")
    assert not any(unicodedata.east_asian_width(c) in "WF" for c in header)  # no Japanese
    results = json.loads((out / "results" / "emi.json").read_text(encoding="utf-8"))
    assert any("不合格" in t["output"] or "考えられる間違い" in t["output"]
               for t in results["tests"])


def test_the_runs_table_lines_up_in_japanese(tmp_path):
    run_folder = tmp_path / "runs" / "a"
    status, _out, err = run_cli("train", "--limit", "200", "--test-limit", "100", "--epochs",
                                "1", "--batch-size", "50", "--quiet", "--out", run_folder)
    assert status == 0, err
    status, out, _err = run_cli("--lang", "ja", "runs", tmp_path / "runs")
    assert status == 0
    heading, rule, row = out.splitlines()
    assert heading.split()[:4] == ["実行", "モデル", "データセット", "エポック"]

    def starts(line):  # the terminal column where each cell starts
        return [i18n.text_width(line[:m.start()]) for m in re.finditer(r"\S+", line)]

    assert starts(heading) == starts(rule) and set(starts(rule)) <= set(starts(row))
    assert row.split()[:2] == ["a", "simple"] and row.split()[-1] == "finished"


@pytest.mark.parametrize("command", ["train", "runs", "sweep", "evaluate", "show", "explain",
                                     "grade", "draw", "import-book"])
def test_each_commands_help_in_japanese_fits_100_columns(command):
    status, out, _err = run_cli("--lang", "ja", command, "--help")
    assert status == 0 and out.startswith(f"使い方: tatamu {command}")
    assert max(i18n.text_width(line) for line in out.splitlines()) <= 100


def test_predict_in_japanese_keeps_steps_and_keys_english(tmp_path):
    from PIL import Image

    canvas = np.full((200, 200), 255, np.uint8)
    canvas[30:170, 90:110] = 0  # a "1" in black on white
    picture = tmp_path / "one.png"
    Image.fromarray(canvas).save(picture)
    checkpoint = ROOT / "tests/fixtures/simple_convnet_1x8x8_v1.npz"
    status, out, _err = run_cli("--lang", "ja", "predict", checkpoint, picture)
    assert status == 0
    assert "反転した（明るい背景: 枠の端で 1.00）" in out and "200x200 を 8x8 に縮尺を変えた" in out
    status, out, _err = run_cli("--lang", "ja", "predict", checkpoint, picture, "--json")
    record = json.loads(out)[0]
    assert {"image", "prediction", "unsure", "top", "probabilities", "steps"} <= set(record)
    assert "invert_light_background" in record["steps"]  # a step's name is data
    status, _out, err = run_cli("--lang", "ja", "predict", checkpoint, tmp_path / "none.png",
                                picture)
    assert status == 1 and "none.png に画像ファイルがありません" in err
    assert "2 枚中 1 枚の画像に答えました" in err


def test_the_draw_api_answers_in_the_asked_language_with_english_keys():
    from tatamu.digits.draw import DrawApp
    from tatamu.digits.draw.app import RequestError

    checkpoint = ROOT / "tests/fixtures/simple_convnet_1x8x8_v1.npz"
    app = DrawApp(checkpoint)
    info = app.info()
    assert info["language"] is None and set(info["texts"]) == {"en", "ja"}
    assert info["texts"]["ja"]["steps"]["crop_to_ink"] == "インクの部分を切り出す"
    assert app.language_of({"lang": "ja-JP"}) == "ja" and app.language_of({}) == "en"
    assert DrawApp(checkpoint, language="ja").language_of({"lang": "en"}) == "ja"
    with using_language("ja"), pytest.raises(RequestError, match="data URL"):
        app.predict({"image": "not a picture"})
    with using_language("ja"), pytest.raises(RequestError) as error:
        app.predict({"image": "data:image/png;base64,AAAA", "skip": ["nope"]})
    assert "ステップ名" in str(error.value)


# -- pictures ----------------------------------------------------------------------------------
def test_a_japanese_figure_draws_every_glyph_with_tatamus_font(tmp_path):
    from tatamu.learn.explain import explain_conv
    from tatamu.viz.windows import plot_walkthrough

    with using_language("ja"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plot_walkthrough(explain_conv(padding=1), max_windows=2)
        title = fig.texts[0]
        assert title.get_text().startswith("畳み込み: 4x4 の入力")
        fig.savefig(tmp_path / "ja.png")  # the font is chosen when the figure is drawn
        assert title.get_fontfamily()[0] == "tatamu-ja"
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing[:3]
    english = plot_walkthrough(explain_conv(padding=1), max_windows=2)
    english.savefig(tmp_path / "en.png")
    assert english.texts[0].get_fontfamily()[0] != "tatamu-ja"  # English keeps the user's font
