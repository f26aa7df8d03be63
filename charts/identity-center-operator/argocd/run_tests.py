#!/usr/bin/env python3
"""Test the Argo CD health check (health.lua) under a real Lua 5.1.

    python3 charts/identity-center-operator/argocd/run_tests.py
    python3 charts/identity-center-operator/argocd/run_tests.py --write-docs

Reads health_test.yaml and the objects in testdata/, turns them into Lua
tables, and runs runner.lua with lua5.1 (install it with hack/install-lua.sh).
The runner also checks that the argocd-cm snippet in README.md is
health.lua byte for byte; --write-docs rewrites that snippet from health.lua.
Prints one line per case and "N passed, M failed"; exits non-zero on failure.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
HEALTH = os.path.join(HERE, "health.lua")
DOCS = os.path.join(REPO, "README.md")
KEY = "resource.customizations.health.identitycenter.dev_IdentityCenterInstance"
BEGIN = "<!-- BEGIN argocd-health-snippet"
END = "<!-- END argocd-health-snippet -->"


class KubeLoader(yaml.SafeLoader):
    """YAML as the API server serves it as JSON: timestamps stay strings."""


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=KubeLoader)


def lua_string(s):
    out = ['"']
    for byte in s.encode("utf-8"):
        ch = chr(byte)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif byte < 32 or byte == 127:
            out.append("\\%03d" % byte)
        else:
            out.append(ch if byte < 128 else "\\%03d" % byte)
    out.append('"')
    return "".join(out)


def to_lua(value, indent=""):
    """A JSON-shaped value as a Lua literal, the way Argo CD hands it to Lua:
    objects and arrays become tables (arrays 1-based), null becomes nil."""
    inner = indent + "  "
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, list):
        if not value:
            return "{}"
        items = ",\n".join(inner + to_lua(v, inner) for v in value)
        return "{\n" + items + ",\n" + indent + "}"
    if isinstance(value, dict):
        items = [
            "%s[%s] = %s" % (inner, lua_string(str(k)), to_lua(v, inner))
            for k, v in value.items()
            if v is not None
        ]
        if not items:
            return "{}"
        return "{\n" + ",\n".join(items) + ",\n" + indent + "}"
    raise TypeError("cannot express %r in Lua" % (value,))


def docs_snippet():
    """The health script embedded in the argocd-cm snippet of README.md."""
    rel = os.path.relpath(DOCS, REPO)
    if not os.path.exists(DOCS):
        return {"error": rel + " does not exist"}
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return {"error": "no %s ... %s block in %s" % (BEGIN, END, rel)}
    block = text[start:end]
    fence = re.search(r"```yaml\n(.*?)```", block, re.S)
    if fence is None:
        return {"error": "no ```yaml fence inside the snippet block in " + rel}
    try:
        doc = yaml.load(fence.group(1), Loader=KubeLoader)
        script = doc["data"][KEY]
    except (yaml.YAMLError, KeyError, TypeError) as e:
        return {"error": "snippet in %s has no data.%s: %s" % (rel, KEY, e)}
    return {"text": script}


def render_snippet(script):
    lines = [
        "```yaml",
        "# argocd-cm-patch.yaml",
        "data:",
        "  %s: |" % KEY,
    ]
    lines += [("    " + line) if line else "" for line in script.rstrip("\n").split("\n")]
    lines.append("```")
    return "\n".join(lines) + "\n"


def write_docs():
    with open(HEALTH, encoding="utf-8") as f:
        script = f.read()
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.exit("no %s ... %s block in %s" % (BEGIN, END, DOCS))
    header_end = text.index("\n", start) + 1
    text = text[:header_end] + render_snippet(script) + text[end:]
    with open(DOCS, "w", encoding="utf-8") as f:
        f.write(text)
    print("rewrote the argocd-cm snippet in", os.path.relpath(DOCS, REPO))


def main():
    if "--write-docs" in sys.argv[1:]:
        write_docs()
        return 0

    lua = os.environ.get("LUA", "lua5.1")
    if shutil.which(lua) is None:
        print("%s not found: run hack/install-lua.sh" % lua, file=sys.stderr)
        return 2

    spec = load_yaml(os.path.join(HERE, "health_test.yaml"))
    cases = []
    for t in spec["tests"]:
        cases.append(
            "  {\n    name = %s,\n    want = { status = %s, message = %s },\n    obj = %s,\n  }"
            % (
                lua_string(t["inputPath"]),
                lua_string(t["healthStatus"]["status"]),
                lua_string(t["healthStatus"]["message"]),
                to_lua(load_yaml(os.path.join(HERE, t["inputPath"])), "    "),
            )
        )
    docs = docs_snippet()
    docs["source"] = os.path.relpath(DOCS, REPO)
    docs["fix"] = os.path.relpath(os.path.abspath(__file__), REPO) + " --write-docs"

    with tempfile.TemporaryDirectory() as tmp:
        cases_path = os.path.join(tmp, "cases.lua")
        with open(cases_path, "w", encoding="utf-8") as f:
            f.write("return {\nhealth = {\n" + ",\n".join(cases) + ",\n},\n")
            f.write("docs = " + to_lua(docs) + ",\n}\n")
        return subprocess.call([lua, os.path.join(HERE, "runner.lua"), HEALTH, cases_path])


if __name__ == "__main__":
    sys.exit(main())
