#!/usr/bin/python3
"""Keeps docs/model.schema.json true to the loader (fiptgen/load.cc).

1. The schema is a valid JSON Schema draft 2020-12.
2. Every model in the repository validates: the goldens, the plan cases, the e2e models and
   every ```json block of docs/model.md (which must also load, and whose first block is the
   bundled example, testdata/example/model.json).
3. For each bad model of testdata/errors/, the schema reports every error the loader does,
   at the same field or its object, except those listed below as the loader's alone
   (references, names, collisions, lo < hi); and it complains nowhere the loader does not.
4. For each value format (CIDRs, MACs, interface names, marks, ports...), a list of values,
   good and bad, gets the same verdict from the schema as from `fiptgen` itself.

Run by Bazel (`bazel test //docs:model_schema_test`) with the fiptgen binary as argument.
Uses Debian's python3-jsonschema (tools/setup installs it); Debian's python3, since that is
where apt puts it.
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    sys.exit("model_schema_test: python3-jsonschema is missing (tools/setup installs it)")

SCHEMA_PATH = "docs/model.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# testdata/errors/<case>.json -> the loader's errors there that a schema cannot see (a
# piece of each such message). The schema must report every other error of the case, at the
# field or at its object; every case of the folder must be listed. None: not JSON at all.
ERROR_CASES = {
    "bad_config": ["must differ from config.mark_accept"],
    "bad_ipsets": ['"s" is also ipsets[0].name'],
    "bad_mac_and_nets": [],
    "bad_port": ["must have lo < hi"],
    "dangling_references": ['no profile "ghost"', "no profile has tag", "no ipset named"],
    "host_bits": ["has host bits set"],
    "injection": [],
    "name_collisions": ["is also endpoints[", "is also the interface of", "is also made by"],
    "rule_semantics": [],
    "syntax": None,
    "unknown_fields": [],
    "workload_host_kinds": ["a host interface must not start", "a workload interface must be"],
    "wrong_types": [],
}

failures = []


def fail(message):
    failures.append(message)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def c_hex_escape(s):
    """absl::CHexEscape, as the loader quotes keys in paths."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch in "\"'\\":
            out.append("\\" + ch)
        elif o < 0x20 or o >= 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


def loader_path(parts):
    """A jsonschema error path in the loader's notation: profiles["p"].inbound_rules[0]."""
    if not parts:
        return "model"
    out = ""
    parent = None
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        elif parent == "profiles" or not re.fullmatch(r"[A-Za-z0-9_!]+", p):
            out += '["%s"]' % c_hex_escape(p)
        else:
            out += ("." if out else "") + p
        parent = p
    return out


def unquoted(text):
    """(index, character) of `text` outside "quoted" keys (which may hold \\")."""
    quoted = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted:
            yield i, ch


def error_path(line):
    """The path an error line starts with: up to the first ": " outside quotes."""
    for i, _ in unquoted(line):
        if line.startswith(": ", i):
            return line[:i]
    return line


def run_fiptgen(model):
    """Returns the error lines fiptgen prints for `model` ([] when it loads)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(model, f)
        path = f.name
    try:
        r = subprocess.run([FIPTGEN, "--ipsets", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if r.returncode not in (0, 2):
        fail("fiptgen exited %d on %s: %s" % (r.returncode, json.dumps(model)[:200], r.stderr))
    return r.stderr.splitlines() if r.returncode == 2 else []


def check_schema_itself(schema):
    if schema.get("$schema") != DRAFT:
        fail("%s: $schema must be %s" % (SCHEMA_PATH, DRAFT))
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        fail("%s is not a valid draft 2020-12 schema: %s" % (SCHEMA_PATH, e.message))
        return False
    return True


def model_files():
    files = sorted(
        glob.glob("testdata/*/model.json")
        + glob.glob("testdata/*/reordered.json")
        + glob.glob("testdata/plans/*/*.json")
        + glob.glob("e2e/*.json")
    )
    if len(files) < 40 or not any(f.startswith("e2e/") for f in files):
        fail("models went missing: found only %s" % files)
    return files


def check_good_models(validator):
    for f in model_files():
        for e in validator.iter_errors(load_json(f)):
            fail("%s: %s: %s" % (f, loader_path(e.absolute_path), e.message))


def check_doc_examples(validator):
    with open("docs/model.md", encoding="utf-8") as f:
        blocks = re.findall(r"^```json\n(.*?)^```", f.read(), re.S | re.M)
    if not blocks:
        fail("docs/model.md has no ```json block")
        return
    for i, text in enumerate(blocks):
        where = "docs/model.md json block %d" % (i + 1)
        try:
            model = json.loads(text)
        except ValueError as e:
            fail("%s is not JSON: %s" % (where, e))
            continue
        for e in validator.iter_errors(model):
            fail("%s: %s: %s" % (where, loader_path(e.absolute_path), e.message))
        for line in run_fiptgen(model):
            fail("%s does not load: %s" % (where, line))
        if i == 0 and model != load_json("testdata/example/model.json"):
            fail("%s is not testdata/example/model.json" % where)


def parent_path(path):
    """profiles["p"].inbound_rules[0].port -> profiles["p"].inbound_rules[0]; x -> model."""
    cut = max((i for i, ch in unquoted(path) if ch in ".[" and i > 0), default=0)
    return path[:cut] if cut else "model"


def check_error_cases(validator):
    found = sorted(os.path.basename(f)[:-5] for f in glob.glob("testdata/errors/*.json"))
    if found != sorted(ERROR_CASES):
        fail("testdata/errors/ holds %s; classify each in ERROR_CASES" % found)
    for case in found:
        loader_only = ERROR_CASES.get(case)
        path = "testdata/errors/%s.json" % case
        try:
            model = load_json(path)
        except ValueError:
            if loader_only is not None:
                fail("%s is not JSON, but ERROR_CASES expects a model" % path)
            continue
        with open("testdata/errors/%s.stderr" % case, encoding="utf-8") as f:
            loader_errors = f.read().splitlines()
        schema_paths = [loader_path(e.absolute_path) for e in validator.iter_errors(model)]
        for line in loader_errors:
            if any(piece in line for piece in loader_only or []):
                continue
            p = error_path(line)
            if not any(s == p or s == parent_path(p) or s.startswith(p + "[")
                       for s in schema_paths):
                fail("%s: the schema misses %r (it reports %s)" % (path, line, schema_paths))
        loader_paths = [error_path(line) for line in loader_errors]
        for at in schema_paths:
            # The same place, or one inside the other: ports errors name the field.
            if not any(p.startswith(at) or at.startswith(p) for p in loader_paths):
                fail("%s: the schema complains at %r, where the loader sees nothing"
                     % (path, at))


# Value formats: (label, values, model for one value list, path of value i, values the
# loader refuses but a schema cannot: "lo < hi", "marks differ").
def rules_model(field_for):
    def make(values):
        rules = [field_for(v) for v in values]
        return {"profiles": {"p": {"inbound_rules": rules}}}
    return make


def rule_path(field):
    return lambda i: 'profiles["p"].inbound_rules[%d].%s' % (i, field)


V4 = ["198.18.1.1", "198.18.1.0/24", "0.0.0.0/0", "255.255.255.255/32", "10.0.0.1/032",
      "10.0.0.1/8", "1.2.3.4/00", "198.18.1.1/33", "198.18.1.1/-1", "198.18.1.1/", "256.1.1.1",
      "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4/3a", "1.2.3.4/0032", " 1.2.3.4", "1.2.3.4 ",
      "", "/24", "fd5a::1"]
V6 = ["fd5a:f1e1::1:1/128", "::", "::/0", "::1", "fe80::/10", "1:2:3:4:5:6:7:8",
      "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4",
      "1::1.2.3.4", "FD5A:F1E1::1", "fd5a::1/129", "fd5a::1/0128", "1:2:3:4:5:6:7:8:9",
      "1::2::3", ":::", "00001::1", "1:2:3:4:5:6::1.2.3.4", "::01.2.3.4", "g::1",
      "fd5a::1/", "fd5a::1%eth0", "198.18.1.1"]
MACS = ["02:00:00:00:00:01", "02:AB:cd:00:00:0F", "zz", "02:00:00:00:00", "02:00:00:00:00:01:02",
        "2:00:00:00:00:01", "02-00-00-00-00-01", "02:00:00:00:00:0g", "", "002:00:00:00:00:01"]
IFNAMES = ["eth0", "enp0s31f6.4000", "bond0.100", "e", "a" * 15, "a" * 16, "", ".", "..", "...",
           "eth/0", "eth:0", "eth@0", "eth 0", "eth\t0", 'eth"0', "eth'0", "eth\\0", "eth+",
           "e+th", "!eth", "e!th", "eth#$%&()*,-", "x;<=>?[]^_`{|}~", "eth\u00e9", "eth\n0"]
PORTS = [0, 65535, 65536, -1, "1:2", "0:65535", "00080:00090", "1:65536", "90:80", "7:7",
         "80", "1:2:3", ":80", "80:", "a:b", "123456:123457", 80.5]
FAILSAFES = ["tcp:22", "udp:68", "sctp:9", "tcp:0", "tcp:65535", "tcp:00022", "tcp:65536",
             "icmp:1", "TCP:22", "tcp:", "tcp:x", "tcp", "tcp:22:1", "udplite:1", "tcp:123456",
             ":22"]
MARKS = ["0x1", "0x2", "0x4", "0x8", "0x10", "0x80000000", "0x00000001", "0x1000000", "0x0",
         "0x3", "0x100000000", "0x000000001", "1000000", "0X10", "0x", "0xg", "0x11"]
LOG_PREFIXES = ["calico-packet: ", "x", "a" * 29, "a" * 30, "", "with space: (parens) + more",
                'q"uote', "q'uote", "back\\slash", "tab\there", "new\nline", "caf\u00e9",
                "~!#$%&()*+,-./:;<=>?@[]^_`{|}"]
PROTOCOLS = ["tcp", "udp", "icmp", "icmpv6", "sctp", "udplite", 1, 255, 0, 256, "gre", "TCP",
             "6", "", -1]
METADATA_ADDRS = ["127.0.0.1", "127.0.0.1/32", "127.0.0.1/032", "127.0.0.0/8", "::1",
                  "127.0.0.1/31", "localhost"]

FORMATS = [
    ("ipv4_nets (an ipset of family 4)", V4,
     lambda vs: {"ipsets": [{"name": "s", "family": 4, "members": vs}]},
     lambda i: "ipsets[0].members[%d]" % i, []),
    ("ipv6_nets (an ipset of family 6)", V6,
     lambda vs: {"ipsets": [{"name": "s", "family": 6, "members": vs}]},
     lambda i: "ipsets[0].members[%d]" % i, []),
    ("src_net", V4 + V6, rules_model(lambda v: {"src_net": v}), rule_path("src_net"), []),
    ("!src_net", V4 + V6, rules_model(lambda v: {"!src_net": v}), rule_path("!src_net"), []),
    ("mac", MACS,
     lambda vs: {"endpoints": [{"id": "w%d" % i, "kind": "workload", "interface": "tapw%d" % i,
                                "mac": v} for i, v in enumerate(vs)]},
     lambda i: "endpoints[%d].mac" % i, []),
    ("interface", IFNAMES,
     lambda vs: {"endpoints": [{"id": "h%d" % i, "kind": "host", "interface": v}
                               for i, v in enumerate(vs)]},
     lambda i: "endpoints[%d].interface" % i, []),
    ("dst_ports", PORTS,
     rules_model(lambda v: {"protocol": "tcp", "dst_ports": [v]}), rule_path("dst_ports"),
     ["90:80", "7:7"]),
    ("failsafe_inbound", FAILSAFES,
     lambda vs: {"config": {"failsafe_inbound": vs}},
     lambda i: "config.failsafe_inbound[%d]" % i, []),
    ("log_prefix", LOG_PREFIXES,
     rules_model(lambda v: {"action": "log", "log_prefix": v}), rule_path("log_prefix"), []),
    ("protocol", PROTOCOLS, rules_model(lambda v: {"protocol": v}), rule_path("protocol"), []),
]
# Fields that appear once in a model: one model per value.
SINGLE_FORMATS = [
    ("mark_accept", MARKS, lambda v: {"config": {"mark_accept": v}}, "config.mark_accept",
     ["0x4000000"]),
    ("interface_prefix", ["tap", "cali", "a" * 14, "a" * 15, "", "t p", "tap+", "!tap", ".",
                          "ta/p"],
     lambda v: {"config": {"interface_prefix": v}}, "config.interface_prefix", []),
    ("metadata.addr", METADATA_ADDRS,
     lambda v: {"config": {"metadata": {"addr": v}}}, "config.metadata.addr", []),
]


def value_errors(validator, model):
    return [loader_path(e.absolute_path) for e in validator.iter_errors(model)]


def check_formats(validator):
    def compare(label, value, loader_refuses, schema_refuses, gap):
        if value in gap:
            if not loader_refuses or schema_refuses:
                fail("%s %r: expected the loader alone to refuse it" % (label, value))
        elif loader_refuses != schema_refuses:
            fail("%s %r: the loader %s it, the schema %s it" % (
                label, value, "refuses" if loader_refuses else "accepts",
                "refuses" if schema_refuses else "accepts"))

    for label, values, make, path_of, gap in FORMATS:
        model = make(values)
        loader = run_fiptgen(model)
        schema = value_errors(validator, model)
        for i, v in enumerate(values):
            p = path_of(i)
            loader_refuses = any(line.startswith(p + ":") or line.startswith(p + "[")
                                 for line in loader)
            # The schema may complain at the value, or at the rule when a cross-field
            # rule fails; the value's own path is enough here.
            schema_refuses = any(s == p or s.startswith(p + "[") for s in schema)
            compare(label, v, loader_refuses, schema_refuses, gap)
    for label, values, make, path, gap in SINGLE_FORMATS:
        for v in values:
            model = make(v)
            loader_refuses = any(line.startswith(path) for line in run_fiptgen(model))
            schema_refuses = any(s.startswith(path) for s in value_errors(validator, model))
            compare(label, v, loader_refuses, schema_refuses, gap)


def main():
    global FIPTGEN
    if len(sys.argv) != 2:
        sys.exit("usage: model_schema_test.py PATH_TO_FIPTGEN")
    FIPTGEN = os.path.abspath(sys.argv[1])
    schema = load_json(SCHEMA_PATH)
    if check_schema_itself(schema):
        validator = jsonschema.Draft202012Validator(schema)
        check_good_models(validator)
        check_doc_examples(validator)
        check_error_cases(validator)
        check_formats(validator)
    for f in failures:
        print("FAIL:", f)
    print("model_schema_test: %s" % ("FAILED, %d problems" % len(failures) if failures else "PASSED"))
    sys.exit(1 if failures else 0)


FIPTGEN = None
if __name__ == "__main__":
    main()
