#!/usr/bin/env python3
"""Extracts the JSON schemas of custom resources from their upstream CRDs (run by hand when a
CRD is updated; CI only reads the result): for each CRD file given, one
<group>/<kind>_<version>.json per served version, the version's openAPIV3Schema with the
descriptions dropped (size). Record the source and version in SOURCES.md.

    python3 .ci/schemas/extract.py CRD.yaml...
"""
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def strip(node):
    if isinstance(node, dict):
        # A property called "description" is a dict (a schema); only the prose is a string.
        return {k: strip(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main(paths):
    for path in paths:
        with open(path) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                spec = crd["spec"]
                group, kind = spec["group"], spec["names"]["kind"]
                for version in spec["versions"]:
                    if not version.get("served", True):
                        continue
                    schema = strip(version["schema"]["openAPIV3Schema"])
                    out = os.path.join(HERE, group, f"{kind}_{version['name']}.json")
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    with open(out, "w") as o:
                        json.dump(schema, o, separators=(",", ":"), sort_keys=True)
                        o.write("\n")
                    print(out)


if __name__ == "__main__":
    main(sys.argv[1:])
