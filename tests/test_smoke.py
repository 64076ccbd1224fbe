def test_app_starts_and_answers_one_request(client):
    response = client.post("/integration/v1/validateAPIAccessToken/", json={})
    assert response.status_code == 400
