#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_ps1.py: a static sanity check of deploy/windows/Install-PortfleetAgent.ps1.

No PowerShell parser can be installed on this Debian machine (Debian 12
packages none), so this is NOT a PowerShell parse and proves nothing about
how the script behaves on Windows. It catches the mistakes a text check can:
  - brackets (), {}, [] balanced outside comments and strings, with string
    rules of PowerShell: '...' ('' escapes), "..." (` escapes, $( ... )
    subexpressions are code), here-strings @' '@ / @" "@, <# #> comments;
  - plain ASCII (Windows PowerShell 5.1 reads a BOM-less script as ANSI);
  - a param() block with the parameters an RMM passes;
  - $ErrorActionPreference = 'Stop', Set-StrictMode;
  - every `Fail N` / `exit N` uses a code listed in the help text;
  - functions are defined before they are called.
Prints one line per check and "N passed, N failed"; exit 1 on failure.
"""
import re
import sys

OPEN = {"(": ")", "{": "}", "[": "]"}
CLOSE = {v: k for k, v in OPEN.items()}


class ScanError(Exception):
    pass


def scan(text):
    """Returns the code with comments and string contents blanked out
    (newlines kept), raising ScanError on unbalanced brackets or an
    unterminated string/comment."""
    out = []
    stack = []  # entries: bracket char, or '"' for an open double-quoted string
    i, n, line = 0, len(text), 1

    def err(msg):
        raise ScanError("line %d: %s" % (line, msg))

    while i < n:
        c = text[i]
        in_dq = stack and stack[-1] == '"'
        if c == "\n":
            line += 1
        if in_dq:
            if c == "`" and i + 1 < n:
                i += 2
                continue
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':  # "" inside "..."
                    i += 2
                    continue
                stack.pop()
                out.append('"')
                i += 1
                continue
            if c == "$" and i + 1 < n and text[i + 1] == "(":
                stack.append("(")
                out.append("$(")
                i += 2
                continue
            out.append("\n" if c == "\n" else " ")
            i += 1
            continue
        if text.startswith("<#", i):
            j = text.find("#>", i + 2)
            if j < 0:
                err("unterminated <# comment")
            line += text.count("\n", i, j)
            out.append("\n" * text.count("\n", i, j))
            i = j + 2
            continue
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("@'", i) or text.startswith('@"', i):
            q = text[i + 1]
            if not text.startswith("\n", i + 2) and not text.startswith("\r\n", i + 2):
                err("here-string must end its line after @%s" % q)
            m = re.compile(r"\n%s@" % re.escape(q)).search(text, i + 2)
            if not m:
                err("unterminated here-string")
            line += text.count("\n", i, m.end())
            out.append('""' + "\n" * text.count("\n", i, m.end()))
            i = m.end()
            continue
        if c == "'":
            j = i + 1
            while True:
                k = text.find("'", j)
                if k < 0:
                    err("unterminated '...' string")
                if k + 1 < n and text[k + 1] == "'":
                    j = k + 2
                    continue
                break
            line += text.count("\n", i, k)
            out.append("''" + "\n" * text.count("\n", i, k))
            i = k + 1
            continue
        if c == "`" and i + 1 < n:  # escape / line continuation in code
            out.append(" ")
            i += 2
            continue
        if c == '"':
            stack.append('"')
            out.append('"')
            i += 1
            continue
        if c in OPEN:
            stack.append(c)
        elif c in CLOSE:
            if not stack or stack[-1] != CLOSE[c]:
                err("unbalanced '%s'" % c)
            stack.pop()
        out.append(c)
        i += 1
    if stack:
        err("unclosed '%s' at end of file" % stack[-1])
    return "".join(out)


def main(path):
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print("%s - %s" % ("ok" if ok else "not ok", what))
        if ok:
            passed += 1
        else:
            failed += 1

    raw = open(path, "rb").read()
    try:
        text = raw.decode("ascii")
        check(True, "plain ASCII (%d bytes)" % len(raw))
    except UnicodeDecodeError as e:
        check(False, "plain ASCII: byte %d is not" % e.start)
        text = raw.decode("utf-8", "replace")
    text = text.replace("\r\n", "\n")

    try:
        code = scan(text)
        check(True, "brackets, strings and comments are balanced")
    except ScanError as e:
        check(False, "brackets, strings and comments: %s" % e)
        code = text

    m = re.search(r"^\s*param\s*\(", code, re.M | re.I)
    check(m is not None, "a param() block")
    params = set()
    if m:
        depth, j = 0, m.end() - 1
        for j in range(m.end() - 1, len(code)):
            if code[j] == "(":
                depth += 1
            elif code[j] == ")":
                depth -= 1
                if depth == 0:
                    break
        block = text[m.end():j] if code == text else code[m.end():j]
        params = {p.lower() for p in re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", block)}
    for p in ("CollectorUrl", "EnrollSecret", "Site", "CaFile"):
        check(p.lower() in params, "parameter -%s" % p)
    for p in ("CollectorUrl", "EnrollSecret"):
        pat = r"Mandatory\s*=\s*\$true\s*\)\s*\]\s*(\[[\w.]+(\[\])?\]\s*)*\$%s\b" % p
        check(re.search(pat, text) is not None, "-%s is mandatory" % p)

    check(re.search(r"^\$ErrorActionPreference\s*=\s*'Stop'", text, re.M) is not None,
          "$ErrorActionPreference = 'Stop'")
    check(re.search(r"^Set-StrictMode\b", text, re.M) is not None, "Set-StrictMode")

    help_codes = set()
    hm = re.search(r"Exit codes:(.*?)\n\s*\n", text, re.S)
    if hm:
        help_codes = {int(c) for c in re.findall(r"(\d+)\s", hm.group(1))}
    used = {int(c) for c in re.findall(r"\b(?:Fail|exit)\s+(\d+)", code)}
    check(bool(used) and used <= help_codes,
          "exit codes used %s are documented %s" % (sorted(used), sorted(help_codes)))

    defined = {}
    for fm in re.finditer(r"^\s*function\s+([A-Za-z][\w-]*)", code, re.M | re.I):
        defined[fm.group(1).lower()] = fm.start()
    ok = bool(defined)
    for name, pos in defined.items():
        first = re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(name), code[:pos], re.I)
        if first:
            ok = False
            print("  %s is called before it is defined" % name)
    check(ok, "functions %s defined before use" % sorted(defined))

    check(re.search(r"^exit 0\s*$", text, re.M) is not None, "ends with an explicit exit 0")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "deploy/windows/Install-PortfleetAgent.ps1"))
