"""The API driving the real AWS driver against moto: check, sync, then read the hosts."""

import pytest
from django.urls import reverse

CREDENTIALS = {"access_key_id": "AKIAMOTOEXAMPLE1", "secret_access_key": "moto-secret-value"}


@pytest.fixture
def operator(operator_user, api_client_for):
    return api_client_for(operator_user)


@pytest.fixture
def provider_url(operator, tenant, aws):
    body = {"name": "moto", "kind": "aws", "settings": aws.settings(),
            "credentials": CREDENTIALS}
    response = operator.post(reverse("api:provider-list"), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["url"]


def test_check_passes_against_moto(operator, provider_url):
    response = operator.post(provider_url + "check/")

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["detail"]


def test_check_reports_rejected_credentials(operator, provider_url, aws):
    aws.reject_credentials()

    response = operator.post(provider_url + "check/")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["detail"]
    assert CREDENTIALS["secret_access_key"] not in response.content.decode()


def test_sync_brings_instances_into_the_host_list(
    operator, provider_url, aws, django_capture_on_commit_callbacks
):
    aws.run_instances("eu-west-1", 2, name="web")
    aws.run_instances("us-east-1", 1, name="db")

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(provider_url + "sync/")
    run = operator.get(response["Location"]).json()
    hosts = operator.get(reverse("api:host-list"), {"ordering": "region"}).json()

    assert response.status_code == 202
    assert (run["status"], run["created"], run["scopes_done"]) == ("succeeded", 3, 2)
    assert [host["region"] for host in hosts["results"]] == ["eu-west-1", "eu-west-1",
                                                             "us-east-1"]
    assert all(host["state"] == "running" for host in hosts["results"])
