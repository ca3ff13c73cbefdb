

def test_customer_opens_case_and_sees_it(world, client):
    client.login(world.ana)
    response = client.post(
        "/cases/new?kind=bug",
        data={"kind": "bug", "subject": "Opens stopped", "description": "No opens since noon", "channel": "api"},
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Opens stopped" in page.text


def test_healthz_leaves_the_session_alone(client, world):
    client.login(world.ana)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
