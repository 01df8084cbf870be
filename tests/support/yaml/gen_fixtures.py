#!/usr/bin/python3
"""Writes the expected values of the YAML corpus (tests/yaml_spec.lua).

For each corpus/NAME.yaml, corpus/NAME.json holds the list of its documents
as ruamel.yaml (Debian's python3-ruamel.yaml, the pure-Python YAML 1.2
loader) reads them. Run once when a document is added or changed:

    /usr/bin/python3 tests/support/yaml/gen_fixtures.py

The fixtures are committed, so the tests need no Python.
Two adjustments to ruamel's reading, both what YAML 1.2's core schema and
Go's yaml.v3 (decoding into interface{}) do:
- timestamps stay strings (the core schema has no timestamp type);
- floats JSON cannot hold are written {"$float": "inf" | "-inf" | "nan"}.
Mapping keys become strings the way json.dumps makes them (200 -> "200").
"""
import json
import math
import pathlib
import sys

from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor


def keep_text(constructor, node):
    return constructor.construct_scalar(node)


SafeConstructor.add_constructor("tag:yaml.org,2002:timestamp", keep_text)


def plain(value):
    """The value with special floats marked, for json.dumps."""
    if isinstance(value, float) and (math.isinf(value) or math.isnan(value)):
        if math.isnan(value):
            return {"$float": "nan"}
        return {"$float": "inf" if value > 0 else "-inf"}
    if isinstance(value, dict):
        return {key_text(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def key_text(key):
    if isinstance(key, str):
        return key
    return json.dumps(key)


def main():
    corpus = pathlib.Path(__file__).resolve().parent / "corpus"
    yaml = YAML(typ="safe", pure=True)
    for path in sorted(corpus.glob("*.yaml")):
        docs = list(yaml.load_all(path.read_text(encoding="utf-8")))
        out = path.with_suffix(".json")
        out.write_text(json.dumps(plain(docs), ensure_ascii=False, indent=1,
                                  allow_nan=False) + "\n", encoding="utf-8")
        print("wrote", out.name, file=sys.stderr)


if __name__ == "__main__":
    main()
