#!/usr/bin/env python3
"""Validates a Compose file against the Compose Specification's JSON schema
(.ci/schemas/compose/compose-spec.json, compose-spec/compose-spec schema/compose-spec.json at
170098ba07d9f53c383a41bfd4c5166b0a4529a6) when `docker compose config` is not available:
YAML anchors and merge keys resolved, `${VAR:-default}` left as written (the schema accepts
strings where Compose interpolates).

    python3 .ci/validate-compose.py deploy/compose.yaml
"""
import json
import os
import sys

import jsonschema
import yaml

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "compose", "compose-spec.json")


def main(paths):
    with open(SCHEMA) as f:
        validator = jsonschema.Draft7Validator(json.load(f))
    failed = False
    for path in paths:
        with open(path) as f:
            doc = yaml.safe_load(f)
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
            failed = True
            print(f"INVALID {path}: {e.message} at {'/'.join(map(str, e.path))}", file=sys.stderr)
        if not failed:
            print(f"{path}: valid ({len(doc.get('services', {}))} services)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
