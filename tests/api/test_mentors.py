"""Mentors: admin creates, frontend reads."""

import uuid

from tests.support import Stack


async def test_admin_creates_and_frontend_reads_a_mentor(stack: Stack) -> None:
    mentor = await stack.create_mentor(calendar_id="ayu@example.com", locale="en")

    one = await stack.api.get(f"/v1/mentors/{mentor['id']}", headers=stack.frontend)
    every = await stack.api.get("/v1/mentors", headers=stack.frontend)

    assert one.status_code == 200 and one.json() == mentor
    assert mentor["id"] in {m["id"] for m in every.json()}


async def test_bad_mentors_are_refused(stack: Stack) -> None:
    mentor = await stack.create_mentor()
    duplicate = await stack.api.post(
        "/v1/mentors",
        json={"name": "Again", "email": mentor["email"], "hourly_rate": 100_000},
        headers=stack.admin,
    )
    bad_zone = await stack.api.post(
        "/v1/mentors",
        json={"name": "Z", "email": "z@example.com", "hourly_rate": 1, "timezone": "Mars/Olympus"},
        headers=stack.admin,
    )
    free = await stack.api.post(
        "/v1/mentors",
        json={"name": "F", "email": "f@example.com", "hourly_rate": 0},
        headers=stack.admin,
    )
    missing = await stack.api.get(f"/v1/mentors/{uuid.uuid4()}", headers=stack.frontend)

    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "mentor_exists"
    assert bad_zone.status_code == 422 and free.status_code == 422
    assert missing.status_code == 404
