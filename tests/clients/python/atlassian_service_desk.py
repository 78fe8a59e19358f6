"""Drives atlassian-python-api's ServiceDesk client against a running Frontdesk.

Environment: FRONTDESK_URL (base URL), FRONTDESK_API_KEY (an admin key), FRONTDESK_TICKET (a request
key such as FD-1), FRONTDESK_AUTH ("basic": e-mail and API token as Jira Cloud clients send them;
"bearer": a personal access token as Data Center clients send it). Every call must succeed and its
answer must hold what the library's callers read; the first failure exits non-zero.
"""

import os
import uuid

from atlassian import ServiceDesk
from requests import HTTPError

URL = os.environ["FRONTDESK_URL"]
KEY = os.environ["FRONTDESK_API_KEY"]
TICKET = os.environ["FRONTDESK_TICKET"]
AUTH = os.environ.get("FRONTDESK_AUTH", "basic")


def client():
    if AUTH == "bearer":
        return ServiceDesk(url=URL, token=KEY, cloud=False)
    return ServiceDesk(url=URL, username="admin@example.com", password=KEY, cloud=True)


def ok(call):
    print(f"ok: {call}")


def main():
    sd = client()
    tag = uuid.uuid4().hex[:8]

    info = sd.get_info()
    assert info["isLicensedForUse"] is True, info
    assert info["version"], info
    ok("get_info")

    desks = sd.get_service_desks()
    assert len(desks) == 1, desks
    desk = desks[0]
    assert desk["id"] and desk["projectKey"] and desk["projectName"], desk
    ok("get_service_desks")

    one_page = sd.get_service_desks(start=0, limit=1, fetch_all=False)
    assert [d["id"] for d in one_page] == [desk["id"]], one_page
    ok("get_service_desks(fetch_all=False)")

    same = sd.get_service_desk_by_id(desk["id"])
    assert same["id"] == desk["id"] and same["projectKey"] == desk["projectKey"], same
    ok("get_service_desk_by_id")

    # The library sends the pre-Cloud `fullName` key, not `displayName`.
    email = f"ada-{tag}@example.com"
    created = sd.create_customer("Ada Lovelace", email)
    assert created["emailAddress"] == email, created
    assert created["displayName"] == "Ada Lovelace", created
    account = created["accountId"]
    assert account and created["active"] is True, created
    ok("create_customer")

    other = sd.create_customer("Grace Hopper", f"grace-{tag}@example.com")["accountId"]

    # The library raises JSM's `errorMessage` as the error's text.
    try:
        sd.create_customer("Ada again", email)
    except HTTPError as e:
        assert e.response.status_code == 400 and str(e), e
    else:
        raise AssertionError("a taken e-mail was accepted")
    try:
        sd.get_request_participants("FD-999999")
    except HTTPError as e:
        assert e.response.status_code == 404 and "not found" in str(e), e
    else:
        raise AssertionError("an unknown request was found")
    ok("errors (taken e-mail, unknown request) carry JSM's errorMessage")

    page = sd.get_customers(desk["id"], query=tag)
    found = {c["accountId"]: c for c in page["values"]}
    assert set(found) == {account, other}, page
    assert found[account]["displayName"] == "Ada Lovelace", page
    assert page["isLastPage"] is True and page["size"] == 2, page
    ok("get_customers(query)")

    first = sd.get_customers(desk["id"], query=tag, start=0, limit=1)
    assert first["size"] == 1 and first["isLastPage"] is False, first
    second = sd.get_customers(desk["id"], query=tag, start=1, limit=1)
    assert second["size"] == 1 and second["isLastPage"] is True, second
    assert {first["values"][0]["accountId"], second["values"][0]["accountId"]} == {account, other}
    ok("get_customers(start, limit)")

    # add_customers and remove_customers always send both lists, one of them empty.
    sd.add_customers(desk["id"], list_of_accountids=[account, other])
    ok("add_customers(list_of_accountids)")
    sd.add_customers(desk["id"], list_of_usernames=[account])
    ok("add_customers(list_of_usernames)")
    sd.remove_customers(desk["id"], list_of_accountids=[other])
    ok("remove_customers(list_of_accountids)")
    sd.remove_customers(desk["id"], list_of_usernames=[other])
    ok("remove_customers(list_of_usernames)")

    added = sd.add_request_participants(TICKET, account_list=[account])
    assert account in [p["accountId"] for p in added["values"]], added
    ok("add_request_participants(account_list)")

    added = sd.add_request_participants(TICKET, users_list=[other])
    assert {account, other} <= {p["accountId"] for p in added["values"]}, added
    ok("add_request_participants(users_list)")

    listed = sd.get_request_participants(TICKET)
    by_id = {p["accountId"]: p for p in listed}
    assert {account, other} <= set(by_id), listed
    assert by_id[account]["emailAddress"] == email, listed
    ok("get_request_participants")

    paged = sd.get_request_participants(TICKET, start=0, limit=1)
    assert len(paged) == 1, paged
    ok("get_request_participants(start, limit)")

    left = sd.remove_request_participants(TICKET, account_list=[account])
    assert account not in [p["accountId"] for p in left["values"]], left
    ok("remove_request_participants(account_list)")

    left = sd.remove_request_participants(TICKET, users_list=[other])
    assert other not in [p["accountId"] for p in left["values"]], left
    ok("remove_request_participants(users_list)")

    assert sd.get_request_participants(TICKET) == [], "participants remain"
    print("atlassian-python-api: all calls passed")


if __name__ == "__main__":
    main()
