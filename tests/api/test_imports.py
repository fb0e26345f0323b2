"""The API addresses the order workflow by name (`mentoring.contract`): importing it loads
neither the workflow code nor the provider SDKs its activities use."""

from tests.support import modules_loaded_by

# Jinja2 renders the API's own pages (the mentor's decision page, the mentee's order page).
NOT_IN_THE_API = ("xendit", "googleapiclient", "workflows", "activities")


def test_importing_the_api_loads_no_workflow_and_no_provider_sdk() -> None:
    loaded = modules_loaded_by(["api.main"], NOT_IN_THE_API)
    assert loaded == [], f"importing api.main loaded {loaded}"
