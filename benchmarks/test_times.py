"""How long each test file and each notebook took, from pytest's JUnit XML.

    python benchmarks/test_times.py build/test-results.xml

nbval reports one test per cell; this adds them up per notebook. Times are the sum of
the tests' own durations, so with two workers the wall time is about half the total.
"""
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def times_by_file(path):
    totals = defaultdict(float)
    for case in ET.parse(path).iter("testcase"):
        # nbval's classname is the notebook path with dots; plain tests give the module.
        name = case.get("classname", "") or case.get("file", "")
        if name.endswith(".ipynb"):
            key = name[: -len(".ipynb")].replace(".", "/") + ".ipynb"
        else:
            parts = name.split(".")
            if parts[-1][:1].isupper():  # a test class inside the module
                parts = parts[:-1]
            key = "/".join(parts) + ".py"
        totals[key] += float(case.get("time", 0))
    return totals


def main(path):
    totals = times_by_file(path)
    width = max(map(len, totals), default=10)
    for key in sorted(totals, key=totals.get, reverse=True):
        print(f"{key:<{width}}  {totals[key]:7.1f} s")
    print(f"{'total':<{width}}  {sum(totals.values()):7.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
