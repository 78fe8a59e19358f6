"""Drives the `jira` package (pycontribs) against a running Frontdesk: its service desk calls.

Environment as for atlassian_service_desk.py: FRONTDESK_URL, FRONTDESK_API_KEY, FRONTDESK_AUTH
("basic": e-mail and API token as on Jira Cloud; "bearer": a personal access token as on Data Center).
"""

import os
import uuid

from jira import JIRA, JIRAError

URL = os.environ["FRONTDESK_URL"]
KEY = os.environ["FRONTDESK_API_KEY"]
AUTH = os.environ.get("FRONTDESK_AUTH", "basic")


def ok(call):
    print(f"ok: {call}")


def main():
    # The constructor reads /rest/api/2/serverInfo and picks its code paths by the version.
    if AUTH == "bearer":
        jira = JIRA(server=URL, token_auth=KEY, max_retries=0)
    else:
        jira = JIRA(server=URL, basic_auth=("admin@example.com", KEY), max_retries=0)
    assert jira.deploymentType == "Cloud", jira.deploymentType
    assert jira._version >= (1001, 0, 0), jira._version
    ok("JIRA() (server_info)")

    info = jira.server_info()
    assert info["baseUrl"] == URL.rstrip("/"), info
    ok("server_info")

    assert jira.supports_service_desk() is True
    ok("supports_service_desk")

    desks = jira.service_desks()
    assert len(desks) == 1, desks
    desk = desks[0]
    assert desk.id and desk.projectKey and desk.projectName, desk.raw
    ok("service_desks")

    same = jira.service_desk(desk.id)
    assert same.id == desk.id and same.projectName == desk.projectName, same.raw
    ok("service_desk")

    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    customer = jira.create_customer(email, "Ada Lovelace")
    assert customer.emailAddress == email, customer.raw
    assert customer.displayName == "Ada Lovelace", customer.raw
    assert customer.accountId and customer.active is True, customer.raw
    ok("create_customer")

    try:
        jira.create_customer(email, "Ada again")
    except JIRAError as e:
        assert e.status_code == 400, e
        assert "errorMessage" in e.response.json(), e.response.text
    else:
        raise AssertionError("a taken e-mail was accepted")
    ok("create_customer (taken e-mail is a JIRAError 400)")

    print("jira: all calls passed")


if __name__ == "__main__":
    main()
