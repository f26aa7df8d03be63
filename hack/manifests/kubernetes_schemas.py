"""Copies one Kubernetes version's strict JSON schemas from the
kubernetes-validate wheel into the layout kubeconform reads, with their
references made relative to the file: the wheel's schemas carry an `$id`
under https://kubernetes.io/api/ and refs rooted at `/api/`, which only its
own resolver maps back to files.

    python3 hack/manifests/kubernetes_schemas.py VERSION OUT_DIR
    (VERSION like 1.36.0; writes OUT_DIR/vVERSION-local-strict/*.json)
"""
import json
import os
import sys

import kubernetes_validate

ROOTED_REF = '"$ref": "/api/_definitions.json'
RELATIVE_REF = '"$ref": "_definitions.json'


def main():
    version, out_dir = sys.argv[1], sys.argv[2]
    name = f"v{version}-local-strict"
    source = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema", name)
    if not os.path.isdir(source):
        sys.exit(f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for {version}")
    target = os.path.join(out_dir, name)
    os.makedirs(target, exist_ok=True)
    for file_name in os.listdir(source):
        with open(os.path.join(source, file_name)) as f:
            schema = json.loads(f.read().replace(ROOTED_REF, RELATIVE_REF))
        if isinstance(schema, dict):
            schema.pop("$id", None)
        with open(os.path.join(target, file_name), "w") as f:
            json.dump(schema, f)
    print(target)


if __name__ == "__main__":
    main()
