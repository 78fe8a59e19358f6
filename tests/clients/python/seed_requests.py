"""The documented requests of the products behind seeds 000-003, sent as their own clients would.

None of those products publishes an SDK or OpenAPI document on the package registries, so the
requests are written from the product documents (the curl examples and field tables): Python's
standard library only, so this runs wherever python3 does. Environment: FRONTDESK_URL and
FRONTDESK_API_KEY (an admin key). Every call must answer as its document says; the first failure
exits non-zero.
"""

import json
import os
import re
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

URL = os.environ["FRONTDESK_URL"].rstrip("/")
KEY = os.environ["FRONTDESK_API_KEY"]
# Seed 000's patterns, verbatim.
EMAIL = re.compile(r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$")
UUID = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
    r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"
)


def call(method, path, body=None, headers=None, raw=None):
    """(status, content type, body text)."""
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(URL + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as res:
            return res.status, res.headers.get("content-type", ""), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read().decode()


def expect(status, method, path, body=None, headers=None, raw=None):
    got, kind, text = call(method, path, body, headers, raw)
    assert got == status, f"{method} {path}: {got} {text}"
    return json.loads(text) if "json" in kind and text else text


def ok(call_name):
    print(f"ok: {call_name}")


def seed_001():
    """External users (workspace API key in `authorization`, raw or as the older `Bearer <key>`)."""
    for auth in (KEY, f"Bearer {KEY}"):
        channels = expect(200, "GET", "/api/v1/channels", headers={"authorization": auth})
        assert any(c["type"] == "email" for c in channels), channels
    channel = next(c["id"] for c in channels if c["type"] == "email")
    tag = uuid.uuid4().hex[:8]
    h = {"authorization": KEY}
    new = {"channelId": channel, "externalId": f"crm-{tag}", "identifier": f"zoe-{tag}@example.com",
           "name": "Zoe Zaia", "tierId": None, "externalUserGroupId": None}
    user = expect(200, "POST", "/api/v1/external-users", new, h)
    for key in ("id", "createdAt", "updatedAt", "blocked", "channelId", "externalId", "externalUserGroupId",
                "identifier", "name", "superIdentityId", "tierId", "workspaceId"):
        assert key in user, (key, user)
    ok("001 POST /api/v1/external-users")
    assert expect(200, "GET", f"/api/v1/external-users/{user['id']}", headers=h)["name"] == "Zoe Zaia"
    ok("001 GET /api/v1/external-users/{id}")
    patched = expect(200, "PATCH", f"/api/v1/external-users/{user['id']}", {"name": "Zoe Z."}, h)
    assert patched["name"] == "Zoe Z.", patched
    ok("001 PATCH /api/v1/external-users/{id}")
    # One UUID or an array of UUIDs for the array filters.
    for query in (f"channelIds={channel}", f"channelIds[]={channel}&channelIds[]={channel}"):
        page = expect(200, "GET", f"/api/v1/external-users?{query}&search={tag}&pageNumber=1&pageSize=10", headers=h)
        assert [u["id"] for u in page] == [user["id"]], page
    ok("001 GET /api/v1/external-users (filters, search, paging)")
    auth = expect(200, "POST", "/api/v1/external-users/authenticate",
                  {"channelId": channel, "externalId": None, "id": None, "identifier": f"zoe-{tag}@example.com"}, h)
    assert auth["id"] == user["id"] and auth["accessToken"], auth
    ok("001 POST /api/v1/external-users/authenticate")
    return channel, user


def seed_002(user):
    """Support tickets: bearer token and the `spacebring-network-id` header."""
    h = {"authorization": KEY}
    location = expect(200, "POST", "/api/v1/locations", {"name": f"Desk {uuid.uuid4().hex[:6]}"}, h)["id"]
    network = expect(200, "GET", f"/api/v1/external-users/{user['id']}", headers=h)["workspaceId"]
    th = {"Authorization": f"Bearer {KEY}", "spacebring-network-id": network}
    created = expect(201, "POST", "/support/tickets/v1",
                     {"ticket": {"locationRef": location, "text": "The door code fails", "userRefRequester": user["id"]}}, th)
    ticket = created["ticket"]
    assert ticket["status"] == "new" and isinstance(ticket["number"], int), ticket
    assert created["activities"][0]["data"]["text"] == "The door code fails", created
    ok("002 POST /support/tickets/v1")
    again = expect(200, "GET", f"/support/tickets/v1/{ticket['id']}", headers=th)
    assert again["ticket"]["id"] == ticket["id"] and again["activities"], again
    ok("002 GET /support/tickets/v1/{id}")
    listed = expect(200, "GET", "/support/tickets/v1?limit=100", headers=th)
    assert ticket["id"] in [t["id"] for t in listed["tickets"]], listed
    ok("002 GET /support/tickets/v1")
    moved = expect(200, "PUT", f"/support/tickets/v1/{ticket['id']}/status", {"ticket": {"status": "solved"}}, th)
    assert moved["ticket"]["status"] == "solved" and moved["activity"]["id"], moved
    ok("002 PUT /support/tickets/v1/{id}/status")
    return ticket


def seed_000(ticket):
    """Ticket external users: `Authorization: Bearer <token>`."""
    h = {"Authorization": f"Bearer {KEY}"}
    email = f"vendor-{uuid.uuid4().hex[:8]}@example.com"
    path = f"/v1/crm/tickets/{ticket['id']}/external-users"
    added = expect(201, "POST", path, {"email": email}, h)
    for key in ("id", "ticketId", "createdBy", "updatedBy"):
        assert UUID.match(added[key]), (key, added)
    assert EMAIL.match(added["email"]) and added["email"] == email, added
    assert isinstance(added["createdAt"], str) and isinstance(added["updatedAt"], str), added
    ok("000 POST /v1/crm/tickets/{ticketId}/external-users")
    assert [u["id"] for u in expect(200, "GET", path, headers=h)] == [added["id"]]
    ok("000 GET /v1/crm/tickets/{ticketId}/external-users")
    expect(204, "DELETE", f"{path}/{added['id']}", headers=h)
    assert expect(200, "GET", path, headers=h) == []
    ok("000 DELETE /v1/crm/tickets/{ticketId}/external-users/{id}")


def seed_003():
    """Users: XML when no Content-Type is given, JSON when it says so."""
    tag = uuid.uuid4().hex[:8]
    xml = (f"<User><CompanyId>0</CompanyId><Email>kim-{tag}@example.com</Email><ExternalId>ext-{tag}</ExternalId>"
           "<FirstName>Kim</FirstName><LastName>Field</LastName><WebsiteRole>Admin</WebsiteRole></User>")
    text = expect(200, "POST", "/api/v1/suser", headers={"authorization": KEY}, raw=xml.encode())
    root = ET.fromstring(text)
    assert root.tag == "UserResponse" and root.findtext("User/Status") == "Invited", text
    xml_id = root.findtext("User/Id")
    ok("003 POST /api/v1/suser (XML)")
    body = {"Email": f"lee-{tag}@example.com", "FirstName": "Lee", "LastName": "Field", "WebsiteRole": "Admin"}
    created = expect(200, "POST", "/api/v1/suser", body, {"authorization": KEY, "Accept": "application/json"})
    assert created["User"]["Status"] == "Invited" and created["User"]["Id"], created
    ok("003 POST /api/v1/suser (JSON)")
    jh = {"authorization": KEY, "Accept": "application/json"}
    for query in (f"Id={xml_id}", f"Email=kim-{tag}@example.com", f"ExternalId=ext-{tag}"):
        got = expect(200, "GET", f"/api/v1/suser?{query}", headers=jh)
        assert got["User"]["Id"] == xml_id and got["User"]["FirstName"] == "Kim", (query, got)
    ok("003 GET /api/v1/suser?Id=|Email=|ExternalId=")
    found = expect(200, "GET", f"/api/v1/suser/search?Email={tag}&PageNo=0&PageSize=10", headers=jh)
    assert found["TotalRows"] == 2 and len(found["Users"]) == 2, found
    ok("003 GET /api/v1/suser/search")
    expect(200, "DELETE", f"/api/v1/suser?Id={created['User']['Id']}", headers=jh)
    expect(404, "GET", f"/api/v1/suser?Id={created['User']['Id']}", headers=jh)
    ok("003 DELETE /api/v1/suser?Id=")


def main():
    _, user = seed_001()
    ticket = seed_002(user)
    seed_000(ticket)
    seed_003()
    print("seed requests: all calls passed")


if __name__ == "__main__":
    main()
