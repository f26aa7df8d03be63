#!/usr/bin/env python3
"""Prints an OCI archive's sizes: compressed (layers as stored) and
uncompressed (the root filesystem's tar), and its config's user and labels;
with --unpack DIR, also unpacks its root filesystem into DIR and writes the
image config's entrypoint, cmd and user to DIR.json.

    python3 hack/image_size.py target/image/identity-center-operator.oci.tar [--unpack DIR]
"""

import gzip
import io
import json
import os
import shutil
import sys
import tarfile


def blob(archive, digest):
    algorithm, value = digest.split(":", 1)
    return archive.extractfile("blobs/%s/%s" % (algorithm, value)).read()


def unpack(layers, directory):
    """Applies the layers in order; whiteouts (.wh.) remove what a lower layer put."""
    os.makedirs(directory, exist_ok=True)
    for data in layers:
        with tarfile.open(fileobj=io.BytesIO(data)) as layer:
            for member in layer.getmembers():
                head, name = os.path.split(member.name)
                if name.startswith(".wh."):
                    target = os.path.join(directory, head, name[len(".wh."):])
                    if os.path.isdir(target):
                        shutil.rmtree(target)
                    elif os.path.lexists(target):
                        os.remove(target)
                    continue
                layer.extract(member, directory, filter="tar")


def main(path, unpack_to=None):
    layers = []
    with tarfile.open(path) as archive:
        index = json.loads(archive.extractfile("index.json").read())
        manifest = json.loads(blob(archive, index["manifests"][0]["digest"]))
        config = json.loads(blob(archive, manifest["config"]["digest"]))
        compressed = sum(layer["size"] for layer in manifest["layers"])
        uncompressed = 0
        for layer in manifest["layers"]:
            data = blob(archive, layer["digest"])
            if layer["mediaType"].endswith("gzip"):
                data = gzip.decompress(data)
            uncompressed += len(data)
            layers.append(data)
    if unpack_to:
        unpack(layers, unpack_to)
        with open(unpack_to.rstrip("/") + ".json", "w") as f:
            json.dump({k: config["config"].get(k) for k in ("Entrypoint", "Cmd", "User")}, f)
    mib = 1024 * 1024
    print("%s: %d layer(s), compressed %.1f MiB, uncompressed %.1f MiB, user %s, labels %s" % (
        path, len(manifest["layers"]), compressed / mib, uncompressed / mib,
        config["config"].get("User"), sorted(config["config"].get("Labels", {}))))
    return {"compressed_bytes": compressed, "uncompressed_bytes": uncompressed}


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[2] if len(args) == 3 and args[1] == "--unpack" else None)
