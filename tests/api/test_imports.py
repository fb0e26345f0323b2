"""The API addresses the order workflow by name (`mentoring.contract`): importing it loads
neither the workflow code nor the payment SDK its activities use. (It reads the mentors' free/busy
through google-api-python-client itself: the slots cannot wait for a workflow.)"""

from tests.support import modules_loaded_by

# Jinja2 renders the API's own pages (the mentor's decision page, the mentee's order page).
NOT_IN_THE_API = ("xendit", "workflows", "activities")


def test_importing_the_api_loads_no_workflow_and_no_payment_sdk() -> None:
    loaded = modules_loaded_by(["api.main"], NOT_IN_THE_API)
    assert loaded == [], f"importing api.main loaded {loaded}"
