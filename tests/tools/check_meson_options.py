#!/usr/bin/env python3
"""Every documented build option configures: `meson setup` (configure only, no compile) of the
source tree into a temporary directory for

  - every combination of the feature options gst and overlay (cuda disabled, the rest at their
    defaults),
  - every value of each other option of meson_options.txt, one at a time from the defaults
    (cuda=disabled unless the option under test is cuda),

so that an option value that breaks the meson files (e.g. -Doverlay=disabled referring to a
target only built with Cairo) fails CI. The options and their values are read from
meson_options.txt: a new option is covered without editing this file. `feature` options take
enabled/disabled/auto and `boolean` ones true/false; `string` and `combo` options their default
(combo: every choice). A value `enabled` (or `true`) may fail only because what it requires is
absent on this machine ("Dependency ... not found", a missing compiler, fuzzing=true under a
compiler other than clang), which is reported, not failed.

The configurations share one build directory, reconfigured with every option given (those not under
test at their defaults): meson keeps its compiler-check and dependency caches across reconfigures,
so each one evaluates the meson files without repeating the compiler probes (about 4.6 s each when
every configuration was set up afresh). A configuration that fails starts the next one afresh.

Usage: check_meson_options.py SOURCE_ROOT [TMPDIR]
"""
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

root = os.path.abspath(sys.argv[1])
tmp_parent = sys.argv[2] if len(sys.argv) > 2 else None
meson = shutil.which("meson")
if not meson:
    print("FAIL: meson is not on PATH")
    sys.exit(1)

OPT_RE = re.compile(r"option\(\s*'([^']+)'\s*,\s*type\s*:\s*'([^']+)'(.*)\)\s*$")


def parse_options(path):
    """name -> (type, [values], default) from meson_options.txt."""
    opts = {}
    for line in open(path, encoding="utf-8"):
        m = OPT_RE.match(line.strip())
        if not m:
            continue
        name, typ, rest = m.groups()
        dm = re.search(r"value\s*:\s*('([^']*)'|true|false)", rest)
        default = None
        if dm:
            default = dm.group(2) if dm.group(2) is not None else dm.group(1)
        if typ == "feature":
            values = ["enabled", "disabled", "auto"]
        elif typ == "boolean":
            values = ["true", "false"]
        elif typ == "combo":
            cm = re.search(r"choices\s*:\s*\[([^\]]*)\]", rest)
            values = re.findall(r"'([^']*)'", cm.group(1)) if cm else [default]
        else:
            values = [default]
        opts[name] = (typ, values, default)
    return opts


opts = parse_options(os.path.join(root, "meson_options.txt"))
if not opts:
    print("FAIL: no options parsed from meson_options.txt")
    sys.exit(1)

# combinations to configure: dicts of option -> value (others at their defaults)
configs = []
grid = [o for o in ("gst", "overlay") if o in opts]
for values in itertools.product(*(opts[o][1] for o in grid)):
    c = dict(zip(grid, values))
    if "cuda" in opts:
        c["cuda"] = "disabled"
    configs.append(c)
for name, (typ, values, default) in opts.items():
    if name in grid:
        continue
    for v in values:
        c = {name: v}
        if name != "cuda" and "cuda" in opts:
            c["cuda"] = "disabled"
        if c not in configs:
            configs.append(c)

MISSING = re.compile(
    r"Dependency .* not found|not found, tried|Could not find|No .* compiler|"
    r"Unknown compiler|Program .* not found|Compiler .* can not compile|needs clang",
    re.IGNORECASE)

IMPLICIT_DEFAULT = {"feature": "auto", "boolean": "true", "string": ""}  # combo: its first choice


def all_args(c):
    """-D for every option: the configuration's value, else the option's default."""
    args = []
    for name, (typ, values, default) in opts.items():
        if default is None:
            default = values[0] if typ == "combo" else IMPLICIT_DEFAULT.get(typ)
        v = c.get(name, default)
        if v is not None:
            args.append(f"-D{name}={v}")
    return args


failures = 0
t0 = time.time()
with tempfile.TemporaryDirectory(dir=tmp_parent, prefix="meson-options-") as tmp:
    build = os.path.join(tmp, "b")
    for i, c in enumerate(configs):
        args = [f"-D{k}={v}" for k, v in c.items()]
        again = os.path.exists(os.path.join(build, "meson-private", "coredata.dat"))
        r = subprocess.run([meson, "setup", *(["--reconfigure"] if again else []), build, root,
                            *all_args(c)], capture_output=True, text=True, timeout=300)
        what = " ".join(args)
        if r.returncode == 0:
            print(f"ok   {what}")
        else:
            err = [l for l in (r.stdout + r.stderr).splitlines() if "ERROR" in l]
            msg = err[-1] if err else (r.stdout + r.stderr).strip().splitlines()[-1:]
            if any(v in ("enabled", "true") for v in c.values()) and MISSING.search(r.stdout + r.stderr):
                print(f"n/a  {what}: required software is absent here ({msg})")
            else:
                print(f"FAIL {what}: {msg}")
                failures += 1
            shutil.rmtree(build, ignore_errors=True)  # the next configuration starts afresh
print(f"{len(configs)} configurations in {time.time() - t0:.1f} s, {failures} failed")
sys.exit(1 if failures else 0)
