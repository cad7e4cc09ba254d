#!/usr/bin/env bash
# The lowest-versions job: a second venv with Colab's numpy, matplotlib, ipywidgets and tqdm
# (pinned by .ci/colab_constraints.txt) and the local torch 2.13.0 CPU wheel; course_lib goes
# in with --no-deps, as Colab's setup cell does it. Then the unit tests and notebook 07 in
# both versions. Usage: bash .ci/colab_job.sh   (from anywhere; about 3-5 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=build/colab-venv
CONSTRAINTS=.ci/colab_constraints.txt

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q -c "$CONSTRAINTS" torch==2.13.0 numpy matplotlib ipywidgets tqdm threadpoolctl \
    nbformat nbclient ipykernel pytest nbval
"$VENV/bin/pip" install -q --no-deps -e .

# Fail loudly if pip resolved anything but the pinned versions.
"$VENV/bin/python" - "$CONSTRAINTS" <<'PY'
import sys
from importlib.metadata import version
pins = [line.split("#")[0].strip() for line in open(sys.argv[1])]
pins = [p.split("==") for p in pins if "==" in p]
wrong = [f"{name} {version(name)} (want {want})" for name, want in pins if version(name) != want]
print("colab venv:", ", ".join(f"{n} {version(n)}" for n in ["numpy", "matplotlib", "ipywidgets", "tqdm", "threadpoolctl", "torch"]))
sys.exit(f"not Colab's versions: {', '.join(wrong)}" if wrong else 0)
PY

# The unit tests (not the slow ones, the nbgrader round trip or the browser), then notebook 07.
# Both run even if the first fails; the job fails if either did.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
status=0
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests -m "not slow and not browser" \
    --ignore=tests/test_nbgrader.py --ignore=tests/test_browser.py || status=1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env \
    --nbval-cell-timeout=600 notebooks/solutions/07_hello.ipynb notebooks/07_hello.ipynb || status=1
exit $status
