#!/usr/bin/env python3
"""Test the Argo CD health checks under a real Lua 5.1.

    python3 charts/identity-center-operator/argocd/run_tests.py
    python3 charts/identity-center-operator/argocd/run_tests.py --write-docs

The checks live in the layout of Argo CD's own resource_customizations:
<group>/<Kind>/health.lua, with health_test.yaml naming the expected health
of each object in <group>/<Kind>/testdata/. This reads every one of them,
turns the objects into Lua tables, and runs runner.lua with lua5.1 (install
it with hack/install-lua.sh). It also checks that
  - there is a health check for every CRD in the chart's crds/, and no other;
  - each health_test.yaml covers Healthy, Progressing and Degraded, names
    only files that exist, and every file in testdata/ is a case whose
    apiVersion group and kind are its directory's;
  - the argocd-cm snippet in README.md holds exactly one key per health
    check, each health.lua byte for byte (--write-docs rewrites the snippet
    from the health.lua files).
Prints one line per case and check and "N passed, M failed"; exits non-zero
on failure.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CRDS = os.path.join(HERE, "..", "crds")
DOCS = os.path.join(REPO, "README.md")
BEGIN = "<!-- BEGIN argocd-health-snippet"
END = "<!-- END argocd-health-snippet -->"
# The statuses every health check must be shown to reach.
REQUIRED_STATUSES = {"Healthy", "Progressing", "Degraded"}


class KubeLoader(yaml.SafeLoader):
    """YAML as the API server serves it as JSON: timestamps stay strings."""


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=KubeLoader)


def rel(path):
    return os.path.relpath(path, REPO)


def health_checks():
    """(group, kind, directory) of each <group>/<Kind>/health.lua, sorted."""
    found = []
    for path in sorted(glob.glob(os.path.join(HERE, "*", "*", "health.lua"))):
        directory = os.path.dirname(path)
        found.append((os.path.basename(os.path.dirname(directory)), os.path.basename(directory), directory))
    return found


def key_of(group, kind):
    """The argocd-cm key Argo CD reads a resource's health check from."""
    return "resource.customizations.health.%s_%s" % (group, kind)


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


def crd_kinds():
    """(group, kind) of every CRD the chart installs."""
    kinds = set()
    for path in glob.glob(os.path.join(CRDS, "*.yaml")):
        crd = load_yaml(path)
        kinds.add((crd["spec"]["group"], crd["spec"]["names"]["kind"]))
    return kinds


def layout_checks(checks):
    """(name, error or None) of the structural checks, in order."""
    results = []
    have = {(group, kind) for group, kind, _ in checks}
    want = crd_kinds()
    error = None
    if not want:
        error = "no CRD found in " + rel(CRDS)
    elif have != want:
        error = "health checks for %s, CRDs %s" % (sorted(have), sorted(want))
    results.append(("a health check for every CRD in crds/, and no other", error))
    for group, kind, directory in checks:
        name = "%s/%s: health_test.yaml covers %s and every file in testdata/" % (
            group, kind, ", ".join(sorted(REQUIRED_STATUSES)))
        problems = []
        spec_path = os.path.join(directory, "health_test.yaml")
        tests = load_yaml(spec_path)["tests"] if os.path.exists(spec_path) else []
        if not tests:
            problems.append("no case in " + rel(spec_path))
        statuses = {t["healthStatus"]["status"] for t in tests}
        if not REQUIRED_STATUSES <= statuses:
            problems.append("no case for " + ", ".join(sorted(REQUIRED_STATUSES - statuses)))
        named = [os.path.normpath(os.path.join(directory, t["inputPath"])) for t in tests]
        problems += ["%s names a missing %s" % (rel(spec_path), rel(p)) for p in named if not os.path.exists(p)]
        if len(set(named)) != len(named):
            problems.append("a file is named twice")
        files = set(glob.glob(os.path.join(directory, "testdata", "*.yaml")))
        problems += ["%s is no case of health_test.yaml" % rel(p) for p in sorted(files - set(named))]
        for path in sorted(files):
            obj = load_yaml(path) or {}
            obj_group = str(obj.get("apiVersion", "")).split("/")[0]
            if (obj_group, obj.get("kind")) != (group, kind):
                problems.append("%s is %s %s, not %s %s" % (rel(path), obj_group, obj.get("kind"), group, kind))
        results.append((name, "; ".join(problems) or None))
    return results


def docs_snippet(checks):
    """The argocd-cm snippet of README.md, checked against the health.lua files."""
    name = "argocd-cm snippet in %s holds every health.lua, verbatim" % rel(DOCS)
    if not os.path.exists(DOCS):
        return name, rel(DOCS) + " does not exist"
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return name, "no %s ... %s block in %s" % (BEGIN, END, rel(DOCS))
    fence = re.search(r"```yaml\n(.*?)```", text[start:end], re.S)
    if fence is None:
        return name, "no ```yaml fence inside the snippet block in " + rel(DOCS)
    try:
        data = yaml.load(fence.group(1), Loader=KubeLoader)["data"]
        keys = set(data)
    except (yaml.YAMLError, KeyError, TypeError) as e:
        return name, "snippet in %s has no data: %s" % (rel(DOCS), e)
    fix = "run: python3 %s --write-docs" % rel(os.path.abspath(__file__))
    want = {key_of(group, kind): directory for group, kind, directory in checks}
    if keys != set(want):
        return name, "the snippet's keys are %s, want %s; %s" % (sorted(keys), sorted(want), fix)
    for key, directory in sorted(want.items()):
        with open(os.path.join(directory, "health.lua"), encoding="utf-8") as f:
            if data[key] != f.read():
                return name, "%s differs from %s; %s" % (key, rel(os.path.join(directory, "health.lua")), fix)
    return name, None


def render_snippet(checks):
    lines = ["```yaml", "# argocd-cm-patch.yaml", "data:"]
    for group, kind, directory in checks:
        with open(os.path.join(directory, "health.lua"), encoding="utf-8") as f:
            script = f.read()
        lines.append("  %s: |" % key_of(group, kind))
        lines += [("    " + line) if line else "" for line in script.rstrip("\n").split("\n")]
    lines.append("```")
    return "\n".join(lines) + "\n"


def write_docs():
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.exit("no %s ... %s block in %s" % (BEGIN, END, DOCS))
    header_end = text.index("\n", start) + 1
    text = text[:header_end] + render_snippet(health_checks()) + text[end:]
    with open(DOCS, "w", encoding="utf-8") as f:
        f.write(text)
    print("rewrote the argocd-cm snippet in", rel(DOCS))


def main():
    if "--write-docs" in sys.argv[1:]:
        write_docs()
        return 0

    lua = os.environ.get("LUA", "lua5.1")
    if shutil.which(lua) is None:
        print("%s not found: run hack/install-lua.sh" % lua, file=sys.stderr)
        return 2

    checks = health_checks()
    scripts = []
    for group, kind, directory in checks:
        spec_path = os.path.join(directory, "health_test.yaml")
        tests = load_yaml(spec_path)["tests"] if os.path.exists(spec_path) else []
        cases = []
        for t in tests:
            path = os.path.join(directory, t["inputPath"])
            if not os.path.exists(path):
                continue  # reported by layout_checks
            cases.append(
                "      {\n        name = %s,\n        want = { status = %s, message = %s },\n        obj = %s,\n      }"
                % (
                    lua_string("%s/%s/%s" % (group, kind, t["inputPath"])),
                    lua_string(t["healthStatus"]["status"]),
                    lua_string(t["healthStatus"]["message"]),
                    to_lua(load_yaml(path), "        "),
                )
            )
        scripts.append(
            "  {\n    path = %s,\n    cases = {\n%s    },\n  }"
            % (lua_string(os.path.join(directory, "health.lua")), "".join(c + ",\n" for c in cases))
        )
    results = layout_checks(checks) + [docs_snippet(checks)]
    reported = "".join(
        "  { name = %s, error = %s },\n" % (lua_string(name), "nil" if error is None else lua_string(error))
        for name, error in results
    )

    with tempfile.TemporaryDirectory() as tmp:
        cases_path = os.path.join(tmp, "cases.lua")
        with open(cases_path, "w", encoding="utf-8") as f:
            f.write("return {\nscripts = {\n" + "".join(s + ",\n" for s in scripts) + "},\n")
            f.write("checks = {\n" + reported + "},\n}\n")
        return subprocess.call([lua, os.path.join(HERE, "runner.lua"), cases_path])


if __name__ == "__main__":
    sys.exit(main())
