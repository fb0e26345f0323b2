"""The API addresses the order workflow by name (`mentoring.contract`): importing it loads
neither the workflow code nor the provider SDKs its activities use."""

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Jinja2 renders the API's own pages (the mentor's decision page, the mentee's order page).
NOT_IN_THE_API = ("xendit", "googleapiclient", "workflows", "activities")


def test_importing_the_api_loads_no_workflow_and_no_provider_sdk() -> None:
    probe = (
        "import json, sys\n"
        "import api.main\n"
        f"roots = {NOT_IN_THE_API!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in roots)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing api.main loaded {loaded}"
