#!/usr/bin/env python3
"""Prints one short line per failed test found in the JUnit XML reports under a directory.

`./xenj test` prints it just before its final counts, so that the end of a CI log (often all
that is kept of it) says which test failed and why: the assertion's message, its head and tail
(a boot test's message carries the console's tail, whose last lines are usually the cause).
Usage: failure-digest.py ROOT [MAX_CHARS_PER_FAILURE]
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET


def one_line(text):
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def digest(root, width):
    patterns = ("**/target/surefire-reports/TEST-*.xml", "**/target/failsafe-reports/TEST-*.xml",
                "**/target/test-reports/*.xml")
    seen = set()
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
            try:
                suite = ET.parse(path).getroot()
            except ET.ParseError as e:
                yield f"{os.path.relpath(path, root)}: unreadable report ({e})"
                continue
            for case in suite.iter("testcase"):
                for kind in ("failure", "error"):
                    node = case.find(kind)
                    if node is None:
                        continue
                    name = f"{case.get('classname', '?').rsplit('.', 1)[-1]}.{case.get('name', '?')}"
                    if name in seen:
                        continue
                    seen.add(name)
                    text = one_line(node.get("message") or node.text or node.get("type") or "")
                    if len(text) > width:
                        half = width // 2
                        text = text[:half] + " […] " + text[-half:]
                    yield f"FAILED {name}: {text}"


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    width = int(sys.argv[2]) if len(sys.argv) > 2 else 900
    for line in digest(root, width):
        print(line)
