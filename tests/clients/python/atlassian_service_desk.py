"""Drives atlassian-python-api's ServiceDesk client against a running Frontdesk.

Environment: FRONTDESK_URL (base URL), FRONTDESK_API_KEY (an admin key), FRONTDESK_TICKET (a request
key such as FD-1), FRONTDESK_AUTH ("basic": e-mail and API token as Jira Cloud clients send them;
"bearer": a personal access token as Data Center clients send it), FRONTDESK_CUSTOMER_EMAIL and
FRONTDESK_CUSTOMER_TOKEN (the ticket's requester and its access token: a customer with its own
credentials). Every call must succeed and its answer must hold what the library's callers read; the
first failure exits non-zero.
"""

import os
import uuid

from atlassian import ServiceDesk
from requests import HTTPError

URL = os.environ["FRONTDESK_URL"]
KEY = os.environ["FRONTDESK_API_KEY"]
TICKET = os.environ["FRONTDESK_TICKET"]
AUTH = os.environ.get("FRONTDESK_AUTH", "basic")
CUSTOMER_EMAIL = os.environ["FRONTDESK_CUSTOMER_EMAIL"]
CUSTOMER_TOKEN = os.environ["FRONTDESK_CUSTOMER_TOKEN"]


def client(user="admin@example.com", secret=KEY):
    if AUTH == "bearer":
        return ServiceDesk(url=URL, token=secret, cloud=False)
    return ServiceDesk(url=URL, username=user, password=secret, cloud=True)


def refused(call, status):
    """Runs `call`, which must fail with `status` and JSM's errorMessage as the error's text."""
    try:
        call()
    except HTTPError as e:
        assert e.response.status_code == status and str(e), (e.response.status_code, e)
    else:
        raise AssertionError(f"expected {status}")


def organizations(sd, desk, tag, account, other):
    org = sd.create_organization(f"Analytical Engines {tag}")
    assert org["name"] == f"Analytical Engines {tag}" and org["id"], org
    assert set(org["created"]) >= {"iso8601", "jira", "friendly", "epochMillis"}, org
    ok("create_organization")

    listed = sd.get_organisations()
    assert org["id"] in [o["id"] for o in listed["values"]], listed
    assert listed["isLastPage"] is True, listed
    ok("get_organisations")
    on_desk = sd.get_organizations(desk["id"], start=0, limit=50)
    assert org["id"] in [o["id"] for o in on_desk["values"]], on_desk
    ok("get_organizations(service_desk_id)")

    same = sd.get_organization(org["id"])
    assert same["name"] == org["name"] and same["id"] == org["id"], same
    ok("get_organization")

    # The library sends both lists, the unused one empty, as for customers.
    sd.add_users_to_organization(org["id"], account_list=[account])
    ok("add_users_to_organization(account_list)")
    sd.add_users_to_organization(org["id"], users_list=[other])
    ok("add_users_to_organization(users_list)")
    users = sd.get_users_in_organization(org["id"])
    assert {u["accountId"] for u in users["values"]} == {account, other}, users
    assert all(u["emailAddress"] and u["displayName"] for u in users["values"]), users
    ok("get_users_in_organization")
    first = sd.get_users_in_organization(org["id"], start=0, limit=1)
    assert first["size"] == 1 and first["isLastPage"] is False, first
    ok("get_users_in_organization(start, limit)")

    sd.remove_users_from_organization(org["id"], account_list=[account])
    sd.remove_users_from_organization(org["id"], users_list=[other])
    assert sd.get_users_in_organization(org["id"])["values"] == []
    ok("remove_users_from_organization")

    sd.add_organization(desk["id"], int(org["id"]))
    ok("add_organization")
    sd.remove_organization(desk["id"], int(org["id"]))
    ok("remove_organization")

    sd.delete_organization(org["id"])
    refused(lambda: sd.get_organization(org["id"]), 404)
    ok("delete_organization")


def comments(sd):
    reply = sd.create_request_comment(TICKET, "We are looking into it.")
    assert reply["public"] is True and reply["body"] == "We are looking into it.", reply
    assert reply["id"] and reply["author"]["displayName"] and reply["created"]["epochMillis"], reply
    ok("create_request_comment")
    note = sd.create_request_comment(TICKET, "The disk is failing.", public=False)
    assert note["public"] is False, note
    ok("create_request_comment(public=False)")

    listed = sd.get_request_comments(TICKET)
    assert [c["id"] for c in listed] == [reply["id"], note["id"]], listed
    ok("get_request_comments")
    # The library sends Python's `True` and `False`.
    public = sd.get_request_comments(TICKET, public=True, internal=False)
    assert [c["id"] for c in public] == [reply["id"]], public
    internal = sd.get_request_comments(TICKET, public=False, internal=True)
    assert [c["id"] for c in internal] == [note["id"]], internal
    ok("get_request_comments(public, internal)")
    page = sd.get_request_comments(TICKET, start=1, limit=1)
    assert [c["id"] for c in page] == [note["id"]], page
    ok("get_request_comments(start, limit)")

    same = sd.get_request_comment_by_id(TICKET, note["id"])
    assert same == note, (same, note)
    ok("get_request_comment_by_id")
    refused(lambda: sd.get_request_comment_by_id(TICKET, "1"), 404)
    refused(lambda: sd.create_request_comment(TICKET, ""), 400)
    ok("comment errors (unknown id, empty body)")

    # The requester with its own credentials: public comments only.
    customer = client(CUSTOMER_EMAIL, CUSTOMER_TOKEN)
    mine = customer.create_request_comment(TICKET, "Thanks, the laptop is at the desk.")
    assert mine["public"] is True and mine["author"]["emailAddress"] == CUSTOMER_EMAIL, mine
    ok("create_request_comment as the customer")
    refused(lambda: customer.create_request_comment(TICKET, "psst", public=False), 403)
    ok("create_request_comment(public=False) as the customer is 403")
    seen = customer.get_request_comments(TICKET)
    assert [c["id"] for c in seen] == [reply["id"], mine["id"]], seen
    refused(lambda: customer.get_request_comment_by_id(TICKET, note["id"]), 404)
    ok("get_request_comments as the customer (public only)")


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

    organizations(sd, desk, tag, account, other)
    comments(sd)
    print("atlassian-python-api: all calls passed")


if __name__ == "__main__":
    main()
