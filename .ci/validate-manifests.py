#!/usr/bin/env python3
"""Validates rendered Kubernetes manifests (kubectl kustomize output) offline, every resource:

- built-in kinds against the Kubernetes schema bundled by the PyPI package kubernetes-validate
  (strict: unknown fields refused), at the version given with -k;
- custom resources against the schemas in .ci/schemas/<group>/<Kind>_<version>.json, extracted
  from their upstream CRDs (.ci/schemas/SOURCES.md), made strict the same way: an object with
  `properties` and no `x-kubernetes-preserve-unknown-fields` refuses other fields. CEL rules
  (x-kubernetes-validations) are not evaluated: the API server does that;
- a kind neither built in nor with a schema fails, unless listed in SKIPPED below with its reason.

    python3 .ci/validate-manifests.py -k 1.30.0 rendered.yaml...
"""
import argparse
import json
import os
import sys

import jsonschema
import kubernetes_validate
import yaml

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")

# (apiVersion, kind) -> why it is not validated. Empty: every kind rendered today has a schema.
SKIPPED: dict = {}


def builtin(api_version: str) -> bool:
    """Kinds the Kubernetes schema covers: the core group and the *.k8s.io / unsuffixed API
    groups, except the Gateway API, which is installed as CRDs."""
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    if group == "gateway.networking.k8s.io":
        return False
    return "." not in group or group.endswith(".k8s.io")


def strict(node):
    """OpenAPI v3 (CRD dialect) -> JSON Schema draft 4, refusing unknown fields."""
    if isinstance(node, list):
        return [strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items()}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


_loaded = {}


def crd_schema(api_version: str, kind: str):
    group, version = api_version.split("/", 1)
    path = os.path.join(SCHEMAS, group, f"{kind}_{version}.json")
    if path not in _loaded:
        if not os.path.exists(path):
            _loaded[path] = None
        else:
            with open(path) as f:
                schema = strict(json.load(f))
            # metadata is the API server's: a plain object in the CRD schema.
            _loaded[path] = jsonschema.Draft4Validator(schema)
    return _loaded[path]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", "--kubernetes-version", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failures, counts, skipped = [], {}, set()
    for path in args.files:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for doc in docs:
            api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
            name = f"{path}: {kind}/{doc.get('metadata', {}).get('name', '?')}"
            counts[(api_version, kind)] = counts.get((api_version, kind), 0) + 1
            if builtin(api_version):
                try:
                    kubernetes_validate.validate(doc, args.kubernetes_version, strict=True)
                except kubernetes_validate.SchemaNotFoundError:
                    failures.append(f"{name}: {api_version} {kind} is not in Kubernetes {args.kubernetes_version}")
                except kubernetes_validate.ValidationError as e:
                    failures.append(f"{name}: {e.message} at {'/'.join(map(str, e.path))}")
                continue
            validator = crd_schema(api_version, kind) if "/" in api_version else None
            if validator is not None:
                for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
                    failures.append(f"{name}: {e.message} at {'/'.join(map(str, e.path))}")
            elif (api_version, kind) in SKIPPED:
                skipped.add((api_version, kind))
            else:
                failures.append(
                    f"{name}: no schema for {api_version} {kind}: add it to .ci/schemas "
                    "(.ci/schemas/extract.py) or list it in SKIPPED in .ci/validate-manifests.py"
                )
    for (api_version, kind), n in sorted(counts.items()):
        if (api_version, kind) in skipped:
            how = "skipped: " + SKIPPED[(api_version, kind)]
        elif builtin(api_version):
            how = f"Kubernetes {args.kubernetes_version}"
        elif "/" in api_version and crd_schema(api_version, kind) is not None:
            how = ".ci/schemas"
        else:
            how = "NO SCHEMA"
        print(f"  {n:3} x {api_version} {kind}  ({how})")
    for f in failures:
        print(f"INVALID {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"{sum(counts.values())} resources valid")


if __name__ == "__main__":
    main()
