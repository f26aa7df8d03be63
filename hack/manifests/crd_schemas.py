"""Writes a strict JSON schema for each served version of each CRD, in the
layout kubeconform's schema-location template
`{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json` names.

    python3 hack/manifests/crd_schemas.py OUT_DIR crds/*.yaml

Strict as kubeconform's -strict is for built-in kinds: an object schema that
lists its properties refuses any other (unless the CRD preserves unknown
fields there), so a misspelt field in a manifest fails in CI, not silently at
the API server, which prunes it.
"""
import json
import os
import sys

import yaml


def strict(schema):
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if "properties" in out:
        out["properties"] = {name: strict(s) for name, s in out["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in out:
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = strict(out[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [strict(s) for s in out[key]]
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    return out


def version_schema(group, kind, version):
    schema = strict(version["schema"]["openAPIV3Schema"])
    schema.setdefault("properties", {})
    schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
    schema["properties"]["kind"] = {"type": "string", "enum": [kind]}
    # ObjectMeta is the API server's; kubeconform checks it for built-in kinds only.
    schema["properties"]["metadata"] = {"type": "object"}
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    schema["additionalProperties"] = False
    return schema


def main():
    out_dir, paths = sys.argv[1], sys.argv[2:]
    if not paths:
        sys.exit("usage: crd_schemas.py OUT_DIR CRD.yaml...")
    for path in paths:
        with open(path) as f:
            crd = yaml.safe_load(f)
        spec = crd["spec"]
        group, kind = spec["group"], spec["names"]["kind"].lower()
        os.makedirs(os.path.join(out_dir, group), exist_ok=True)
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            target = os.path.join(out_dir, group, f"{kind}_{version['name']}.json")
            with open(target, "w") as f:
                json.dump(version_schema(group, spec["names"]["kind"], version), f, indent=1, sort_keys=True)
            print(target)


if __name__ == "__main__":
    main()
