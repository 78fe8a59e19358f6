//! Seed 002: locations, support tickets, their timeline, paging, credentials and visibility.

use frontdesk::app::{NewStaffUser, Principal};
use frontdesk::domain::{EmailAddress, Role};
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, on_both_backends};

const TICKETS: &str = "/support/tickets/v1";

impl TestApp {
    /// A request with any `authorization` value and an optional `spacebring-network-id`.
    pub async fn send_network(
        &self,
        method: &str,
        path: &str,
        auth: &str,
        network: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{}", self.base, path)).header("authorization", auth);
        if let Some(network) = network {
            req = req.header("spacebring-network-id", network);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        let answer = crate::helpers::exchange(req).await.expect("request");
        let body = if answer.text.is_empty() { Value::Null } else { serde_json::from_str(&answer.text).expect("json") };
        Reply { status: answer.status, headers: answer.headers, body }
    }

    /// A seed 002 request with the admin key as a bearer token and this workspace's network header.
    pub async fn tickets(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let auth = format!("Bearer {}", self.key);
        self.send_network(method, path, &auth, Some(&self.workspace_id), body).await
    }

    pub async fn location(&self, name: &str) -> String {
        let r = self.post("/api/v1/locations", &json!({"name": name})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// A staff member of the workspace (created as the operator would), returning its id.
    pub async fn staff(&self, email: &str, first: &str, last: &str, role: Role) -> String {
        let who = Principal::Operator { workspace_id: self.workspace_id.parse().unwrap() };
        let new = NewStaffUser {
            email: EmailAddress::parse(email).unwrap(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            external_id: None,
            role,
            phone_number: Some("+15550100".into()),
        };
        self.app.create_staff_user(&who, new).await.expect("staff user").id.to_string()
    }

    /// Opens a ticket through the API; returns the `{activities, ticket}` body.
    pub async fn open_ticket(&self, location: &str, requester: &str, text: &str) -> Value {
        let body = json!({"ticket": {"locationRef": location, "text": text, "userRefRequester": requester}});
        let r = self.tickets("POST", TICKETS, Some(&body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body
    }

    /// An access token for an external user of the e-mail channel with this address.
    pub async fn access_token(&self, email: &str) -> (String, String) {
        let r = self
            .post(
                "/api/v1/external-users/authenticate",
                &json!({"channelId": self.email_channel_id, "id": null, "externalId": null, "identifier": email}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        (r.body["id"].as_str().unwrap().to_owned(), r.body["accessToken"].as_str().unwrap().to_owned())
    }
}

fn is_seconds_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && !s.contains('.')
}

fn error_fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .map_or(vec![], |d| d.iter().map(|e| e["field"].as_str().unwrap_or("").to_owned()).collect())
}

fn id(v: &Value) -> String {
    v["ticket"]["id"].as_str().unwrap().to_owned()
}

on_both_backends! {
    async fn locations_are_created_listed_read_renamed_and_deleted(app) {
        let r = app.post("/api/v1/locations", &json!({"name": "Main office"})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(r.body["name"], "Main office");
        assert_eq!(r.body["workspaceId"], app.workspace_id.as_str());
        assert_eq!(app.get("/api/v1/locations").await.body.as_array().unwrap().len(), 1);
        let r = app.patch(&format!("/api/v1/locations/{id}"), &json!({"name": "HQ"})).await;
        assert_eq!((r.status, r.body["name"].as_str()), (200, Some("HQ")));
        assert_eq!(app.get(&format!("/api/v1/locations/{id}")).await.body["name"], "HQ");
        assert_eq!(app.delete(&format!("/api/v1/locations/{id}")).await.status, 200);
        let r = app.get(&format!("/api/v1/locations/{id}")).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Location not found.")));
    }

    async fn location_names_are_validated_and_locations_with_tickets_stay(app) {
        let r = app.post("/api/v1/locations", &json!({})).await;
        assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (400, Some("name")));
        let r = app.post("/api/v1/locations", &json!({"name": "  "})).await;
        assert_eq!(r.status, 400);
        let r = app.post("/api/v1/locations", &json!({"name": "x".repeat(101)})).await;
        assert_eq!(r.status, 400);
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        app.open_ticket(&location, user["id"].as_str().unwrap(), "Broken door").await;
        let r = app.delete(&format!("/api/v1/locations/{location}")).await;
        assert_eq!((r.status, r.body["message"].as_str()), (409, Some("Location still has tickets.")));
    }

    async fn create_answers_201_in_the_seed_shape_with_number_one_and_a_creation_activity(app) {
        let location = app.location("Main office").await;
        let user = app.external_user("jsmith@example.com", "John Smith").await;
        let requester = user["id"].as_str().unwrap();
        let body = json!({"ticket": {"locationRef": location, "text": "<string>", "userRefRequester": requester}});
        let r = app.tickets("POST", TICKETS, Some(&body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let t = &r.body["ticket"];
        for key in ["createDate", "description", "id", "locationRef", "number", "updateDate", "membershipAssignee",
                    "membershipRefAssignee", "membershipRefRequester", "membershipRequester", "statusUpdateDate",
                    "userAssignee", "userRequester", "status", "type"] {
            assert!(t.get(key).is_some(), "missing {key}");
        }
        assert_eq!(t["number"], 1);
        assert_eq!(t["status"], "new");
        assert_eq!(t["description"], "<string>");
        assert_eq!(t["locationRef"], location.as_str());
        assert_eq!(t["membershipRefRequester"], requester);
        assert_eq!(t["membershipAssignee"], Value::Null);
        assert_eq!(t["membershipRequester"]["id"], requester);
        assert_eq!(t["membershipRequester"]["roleType"], "customer");
        assert_eq!(t["membershipRequester"]["type"], "external");
        assert_eq!(t["userRequester"]["email"], "jsmith@example.com");
        assert_eq!(t["userRequester"]["name"], "John Smith");
        assert_eq!(t["userRequester"]["blocked"], false);
        for key in ["createDate", "updateDate", "statusUpdateDate"] {
            assert!(is_seconds_timestamp(&t[key]), "{key}: {}", t[key]);
        }
        let activities = r.body["activities"].as_array().unwrap();
        assert_eq!(activities.len(), 1);
        let a = &activities[0];
        assert_eq!(a["type"], "created");
        assert_eq!(a["ticketRef"], t["id"]);
        assert_eq!(a["data"]["text"], "<string>");
        assert_eq!(a["data"]["attachments"], json!([]));
        assert_eq!(a["membership"]["id"], requester);
        assert!(is_seconds_timestamp(&a["createDate"]));

        let again = app.tickets("GET", &format!("{TICKETS}/{}", id(&r.body)), None).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body, r.body);
    }

    async fn a_staff_member_may_request_and_be_assigned_with_type(app) {
        let location = app.location("Main office").await;
        let agent = app.staff("agent@example.com", "Ada", "Lovelace", Role::Agent).await;
        let admin = app.staff("admin@example.com", "Alan", "Turing", Role::Admin).await;
        let body = json!({"ticket": {"type": "access", "locationRef": location, "text": "Badge does not open",
                                     "userRefRequester": agent, "membershipRefAssignee": admin}});
        let r = app.tickets("POST", TICKETS, Some(&body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let t = &r.body["ticket"];
        assert_eq!(t["type"], "access");
        assert_eq!(t["membershipRequester"], json!({"id": agent, "roleType": "agent", "type": "staff", "user": {
            "id": agent, "photoUrl": null, "blocked": false, "email": "agent@example.com", "name": "Ada",
            "phoneNumber": "+15550100", "surname": "Lovelace"}}));
        assert_eq!(t["membershipRefAssignee"], admin.as_str());
        assert_eq!(t["membershipAssignee"]["roleType"], "admin");
        assert_eq!(t["userAssignee"]["surname"], "Turing");
    }

    async fn create_reports_every_broken_rule_by_field(app) {
        let r = app.tickets("POST", TICKETS, Some(&json!({"ticket": {}}))).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["error"]["status"], "INVALID_ARGUMENT");
        assert_eq!(error_fields(&r.body), ["ticket.locationRef", "ticket.text", "ticket.userRefRequester"]);
        let r = app.tickets("POST", TICKETS, Some(&json!({}))).await;
        assert_eq!(error_fields(&r.body), ["ticket"]);
        let body = json!({"ticket": {"locationRef": "nope", "text": "", "userRefRequester": 5, "type": ""}});
        let r = app.tickets("POST", TICKETS, Some(&body)).await;
        assert_eq!(error_fields(&r.body), ["ticket.locationRef", "ticket.text", "ticket.type", "ticket.userRefRequester"]);
        let location = app.location("Desk").await;
        let r = app.tickets("POST", TICKETS, Some(&json!({"ticket": {"locationRef": location, "text": "Hi"}}))).await;
        assert_eq!((r.status, error_fields(&r.body)), (400, vec!["ticket.userRefRequester".to_owned()]));
        let r = app.send_network("POST", TICKETS, &format!("Bearer {}", app.key), None, None).await;
        assert_eq!(r.status, 400);
    }

    async fn unknown_or_foreign_locations_and_requesters_are_not_found(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let unknown = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let open = |location: String, requester: String| {
            let app = &app;
            async move {
                let body = json!({"ticket": {"locationRef": location, "text": "t", "userRefRequester": requester}});
                app.tickets("POST", TICKETS, Some(&body)).await
            }
        };
        let r = open(unknown.into(), user["id"].as_str().unwrap().into()).await;
        assert_eq!((r.status, r.body["error"]["message"].as_str()), (404, Some("Location not found.")));
        let r = open(location.clone(), unknown.into()).await;
        assert_eq!((r.status, r.body["error"]["message"].as_str()), (404, Some("Membership not found.")));

        // The other workspace's key cannot use our location or our people.
        let (other_ws, other_key, other_channel) = app.other_workspace().await;
        let other_user = app.send("POST", "/api/v1/external-users", Some(&other_key), Some(&json!({
            "channelId": other_channel, "externalId": null, "identifier": "o@example.com", "name": null,
            "tierId": null, "externalUserGroupId": null}).to_string())).await.body;
        let body = json!({"ticket": {"locationRef": location, "text": "t", "userRefRequester": other_user["id"]}});
        let r = app.send_network("POST", TICKETS, &format!("Bearer {other_key}"), Some(&other_ws), Some(&body)).await;
        assert_eq!(r.status, 404);
        let r = open(location, other_user["id"].as_str().unwrap().into()).await;
        assert_eq!(r.status, 404);
        let list = app.tickets("GET", TICKETS, None).await;
        assert_eq!(list.body["tickets"], json!([]));
    }

    async fn concurrent_creates_get_numbers_one_to_n_exactly(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let requester = user["id"].as_str().unwrap();
        const N: usize = 40;
        let replies = join_all((0..N).map(|i| {
            let body = json!({"ticket": {"locationRef": location, "text": format!("ticket {i}"), "userRefRequester": requester}});
            let app = &app;
            async move { app.tickets("POST", TICKETS, Some(&body)).await }
        }))
        .await;
        let mut numbers: Vec<i64> = replies
            .iter()
            .map(|r| {
                assert_eq!(r.status, 201, "{:?}", r.body);
                r.body["ticket"]["number"].as_i64().unwrap()
            })
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=N as i64).collect::<Vec<_>>());
        // Another workspace starts at 1 again.
        let (other_ws, other_key, other_channel) = app.other_workspace().await;
        let loc = app.send("POST", "/api/v1/locations", Some(&other_key), Some(r#"{"name":"Other"}"#)).await.body;
        let u = app.send("POST", "/api/v1/external-users", Some(&other_key), Some(&json!({
            "channelId": other_channel, "externalId": null, "identifier": "o@example.com", "name": null,
            "tierId": null, "externalUserGroupId": null}).to_string())).await.body;
        let body = json!({"ticket": {"locationRef": loc["id"], "text": "first", "userRefRequester": u["id"]}});
        let r = app.send_network("POST", TICKETS, &other_key, Some(&other_ws), Some(&body)).await;
        assert_eq!((r.status, r.body["ticket"]["number"].as_i64()), (201, Some(1)));
    }

    async fn a_burst_with_missing_references_numbers_only_the_opened_tickets_and_records_their_events(app) {
        // Creates arriving together share one transaction; one naming a missing location, requester
        // or assignee fails alone, takes no number and leaves no event.
        let app = &app;
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let jane = user["id"].as_str().unwrap().to_owned();
        let ada = app.staff("ada@example.com", "Ada", "Lovelace", Role::Agent).await;
        let unknown = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let creates = (0..40).map(|n| {
            let (place, requester, assignee) = match n % 10 {
                0 => (unknown, jane.as_str(), None),
                1 => (location.as_str(), unknown, None),
                2 => (location.as_str(), jane.as_str(), Some(unknown)),
                3 | 4 => (location.as_str(), ada.as_str(), Some(ada.as_str())),
                _ => (location.as_str(), jane.as_str(), None),
            };
            let body = json!({"ticket": {"locationRef": place, "text": format!("ticket {n}"),
                                         "userRefRequester": requester, "membershipRefAssignee": assignee}});
            async move { (n, app.tickets("POST", TICKETS, Some(&body)).await) }
        });
        let replies = join_all(creates).await;
        let mut numbers = Vec::new();
        for (n, r) in &replies {
            let refused = match n % 10 {
                0 => Some("Location not found."),
                1 => Some("Membership not found."),
                2 => Some("Membership not found."),
                _ => None,
            };
            if let Some(message) = refused {
                assert_eq!((r.status, r.body["error"]["message"].as_str()), (404, Some(message)), "create {n}");
                continue;
            }
            assert_eq!(r.status, 201, "create {n}: {:?}", r.body);
            let t = &r.body["ticket"];
            assert_eq!(t["description"], format!("ticket {n}"));
            let (kind, requester) = if n % 10 < 5 { ("staff", &ada) } else { ("external", &jane) };
            assert_eq!((t["membershipRequester"]["type"].as_str(), t["membershipRefRequester"].as_str()),
                       (Some(kind), Some(requester.as_str())), "create {n}");
            assert_eq!(r.body["activities"][0]["data"]["text"], format!("ticket {n}"));
            let again = app.tickets("GET", &format!("{TICKETS}/{}", id(&r.body)), None).await;
            assert_eq!(again.body, r.body, "create {n} reads back as it was answered");
            numbers.push(t["number"].as_i64().unwrap());
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=28).collect::<Vec<_>>());
        let events = crate::events::all_events(app).await;
        let created: Vec<&Value> = events.iter().filter(|e| e["type"] == "ticket.created").collect();
        assert_eq!(created.len(), 28, "one event per opened ticket, none for a refused one");
        let mut sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=events.len() as i64).collect::<Vec<_>>(), "events numbered without gaps");
    }

    async fn status_changes_move_freely_and_keep_previous_attributes(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Printer jam").await;
        let path = format!("{TICKETS}/{}/status", id(&created));
        // The product's own example body on a new ticket: nothing to change, so 200 with the activity
        // that gave the ticket its status (here its creation), and nothing new recorded.
        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"status": "new"}}))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["ticket"]["status"], "new");
        assert_eq!(r.body["activity"], created["activities"][0], "the created activity");
        assert_eq!(r.body["ticket"]["updateDate"], created["ticket"]["updateDate"]);

        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"status": "inProgress"}}))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["ticket"]["status"], "inProgress");
        assert_eq!(r.body["activity"]["type"], "statusChange");
        assert_eq!(r.body["activity"]["data"]["status"], "inProgress");
        assert_eq!(r.body["activity"]["data"]["previousAttributes"], json!({"status": "new"}));
        assert!(is_seconds_timestamp(&r.body["ticket"]["statusUpdateDate"]));
        // A retried call finds the status set and answers the change that set it.
        let change = r.body["activity"].clone();
        let again = app.tickets("PUT", &path, Some(&json!({"ticket": {"status": "inProgress"}}))).await;
        assert_eq!((again.status, &again.body["activity"]), (200, &change), "{:?}", again.body);

        // Any status may follow any other, back to new and out of closed included.
        for (to, shown) in [("solved", "solved"), ("closed", "closed"), ("new", "new"), ("closed", "closed"),
                            ("inProgress", "inProgress")] {
            let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"status": to}}))).await;
            assert_eq!((r.status, r.body["ticket"]["status"].as_str()), (200, Some(shown)), "{to}: {:?}", r.body);
        }
        // The names earlier versions used are read as the product's.
        for (alias, shown) in [("resolved", "solved"), ("open", "inProgress"), ("pending", "inProgress")] {
            let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"status": alias}}))).await;
            assert_eq!((r.status, r.body["ticket"]["status"].as_str()), (200, Some(shown)), "{alias}: {:?}", r.body);
        }
        for bad in [json!({"ticket": {"status": "in_progress"}}), json!({"ticket": {"status": 3}}), json!({"ticket": {}})] {
            let r = app.tickets("PUT", &path, Some(&bad)).await;
            assert_eq!((r.status, error_fields(&r.body)), (400, vec!["ticket.status".to_owned()]), "{bad}");
        }
        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"status": "done"}}))).await;
        assert!(r.body["error"]["message"].as_str().unwrap().contains("new, inProgress, solved, closed"), "{:?}", r.body);

        let detail = app.tickets("GET", &format!("{TICKETS}/{}", id(&created)), None).await.body;
        let kinds: Vec<&str> = detail["activities"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
        // Created, six changes, resolved and open; pending found the ticket in progress already.
        assert_eq!(kinds.len(), 9, "{kinds:?}");
        assert_eq!(detail["activities"][8]["data"]["previousAttributes"]["status"], "solved");
        assert_eq!(detail["activities"][8]["data"]["status"], "inProgress");
        assert_eq!(detail["ticket"]["status"], "inProgress");
        let missing = app.tickets("PUT", &format!("{TICKETS}/3c90c3cc-0d44-4b50-8888-8dd25736052a/status"),
            Some(&json!({"ticket": {"status": "solved"}}))).await;
        assert_eq!(missing.status, 404);
        let bad_id = app.tickets("PUT", &format!("{TICKETS}/nope/status"), Some(&json!({"ticket": {"status": "solved"}}))).await;
        assert_eq!(bad_id.status, 400);
    }

    async fn assigning_and_unassigning_record_the_previous_assignee(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let ada = app.staff("ada@example.com", "Ada", "Lovelace", Role::Agent).await;
        let alan = app.staff("alan@example.com", "Alan", "Turing", Role::Agent).await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Wifi down").await;
        let path = format!("{TICKETS}/{}/assignee", id(&created));
        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"membershipRefAssignee": ada}}))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["ticket"]["membershipRefAssignee"], ada.as_str());
        assert_eq!(r.body["activity"]["type"], "assigneeChange");
        assert_eq!(r.body["activity"]["data"]["membershipAssignee"]["id"], ada.as_str());
        assert_eq!(r.body["activity"]["data"]["previousAttributes"], json!({"membershipAssignee": null}));
        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"membershipRefAssignee": alan}}))).await;
        assert_eq!(r.body["activity"]["data"]["previousAttributes"]["membershipAssignee"]["id"], ada.as_str());
        let r = app.tickets("DELETE", &path, None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["ticket"]["membershipRefAssignee"], Value::Null);
        assert_eq!(r.body["activity"]["data"]["membershipAssignee"], Value::Null);
        assert_eq!(r.body["activity"]["data"]["previousAttributes"]["membershipAssignee"]["id"], alan.as_str());
        let again = app.tickets("DELETE", &path, None).await;
        assert_eq!((again.status, &again.body["activity"]), (200, &Value::Null), "unassigning twice changes nothing");

        // Only staff can be assignees, and only this workspace's.
        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"membershipRefAssignee": user["id"]}}))).await;
        assert_eq!((r.status, r.body["error"]["message"].as_str()), (404, Some("Membership not found.")));
        let r = app.tickets("PUT", &path, Some(&json!({"ticket": {"membershipRefAssignee": "bad"}}))).await;
        assert_eq!(error_fields(&r.body), ["ticket.membershipRefAssignee"]);
        let detail = app.tickets("GET", &format!("{TICKETS}/{}", id(&created)), None).await.body;
        assert_eq!(detail["activities"].as_array().unwrap().len(), 4);
    }

    async fn comments_are_public_or_internal_with_attachment_metadata(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await;
        let path = format!("{TICKETS}/{}/comments", id(&created));
        let file = json!({"key": "<string>", "mime": "<string>", "name": "<string>", "size": 123, "url": "<string>",
                          "height": 123, "width": 123});
        let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "On it", "attachments": [file]}}))).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["activity"]["type"], "comment");
        assert_eq!(r.body["activity"]["data"]["text"], "On it");
        assert_eq!(r.body["activity"]["data"]["internal"], false);
        assert_eq!(r.body["activity"]["data"]["attachments"], json!([file]));
        let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "Team only", "internal": true}}))).await;
        assert_eq!((r.status, &r.body["activity"]["data"]["internal"]), (201, &json!(true)));

        let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "", "attachments": [{"size": -1}]}}))).await;
        assert_eq!(error_fields(&r.body), ["comment.text", "comment.attachments"]);
        let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "x", "internal": "yes"}}))).await;
        assert_eq!(error_fields(&r.body), ["comment.internal"]);
        let detail = app.tickets("GET", &format!("{TICKETS}/{}", id(&created)), None).await.body;
        assert_eq!(detail["activities"].as_array().unwrap().len(), 3);
    }

    async fn the_products_comment_route_takes_an_activity_naming_its_ticket(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await;
        let path = format!("{TICKETS}/comment");
        let file = json!({"key": "<string>", "mime": "<string>", "name": "<string>", "size": 123, "url": "<string>",
                          "height": 123, "width": 123});
        let body = json!({"activity": {"ticketRef": id(&created), "text": "<string>", "attachments": [file]}});
        let r = app.tickets("POST", &path, Some(&body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["activity"]);
        let a = &r.body["activity"];
        assert_eq!((a["type"].as_str(), a["ticketRef"].as_str()), (Some("comment"), Some(id(&created).as_str())));
        assert_eq!(a["data"]["text"], "<string>");
        assert_eq!(a["data"]["attachments"], json!([file]));
        assert_eq!(a["data"]["internal"], false);
        let body = json!({"activity": {"ticketRef": id(&created), "text": "Team only", "attachments": [], "internal": true}});
        let r = app.tickets("POST", &path, Some(&body)).await;
        assert_eq!((r.status, &r.body["activity"]["data"]["internal"]), (201, &json!(true)));

        let r = app.tickets("POST", &path, Some(&json!({"activity": {"text": ""}}))).await;
        assert_eq!((r.status, error_fields(&r.body)), (400, vec!["activity.ticketRef".to_owned(), "activity.text".to_owned()]));
        let r = app.tickets("POST", &path, Some(&json!({"activity": {"ticketRef": "nope", "text": "x", "attachments": [{}]}}))).await;
        assert_eq!(error_fields(&r.body), ["activity.ticketRef", "activity.attachments"]);
        let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "x"}}))).await;
        assert_eq!(error_fields(&r.body), ["activity"]);
        let unknown = json!({"activity": {"ticketRef": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "text": "x"}});
        let r = app.tickets("POST", &path, Some(&unknown)).await;
        assert_eq!((r.status, r.body["error"]["message"].as_str()), (404, Some("Ticket not found.")));
        let detail = app.tickets("GET", &format!("{TICKETS}/{}", id(&created)), None).await.body;
        assert_eq!(detail["activities"].as_array().unwrap().len(), 3);
    }

    async fn the_type_is_set_and_cleared_with_an_activity_and_204(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Badge").await;
        let path = format!("{TICKETS}/{}/type", id(&created));
        let r = app.tickets("PATCH", &path, Some(&json!({"ticket": {"type": "access"}}))).await;
        assert_eq!((r.status, &r.body), (204, &Value::Null));
        // The same type again changes nothing.
        assert_eq!(app.tickets("PATCH", &path, Some(&json!({"ticket": {"type": "access"}}))).await.status, 204);
        let detail = app.tickets("GET", &format!("{TICKETS}/{}", id(&created)), None).await.body;
        assert_eq!(detail["ticket"]["type"], "access");
        let activities = detail["activities"].as_array().unwrap();
        assert_eq!(activities.len(), 2);
        assert_eq!(activities[1]["type"], "typeChange");
        assert_eq!(activities[1]["data"]["type"], "access");
        assert_eq!(activities[1]["data"]["previousAttributes"], json!({"type": null}));

        assert_eq!(app.tickets("PATCH", &path, Some(&json!({"ticket": {"type": null}}))).await.status, 204);
        let detail = app.tickets("GET", &format!("{TICKETS}/{}", id(&created)), None).await.body;
        assert_eq!(detail["ticket"]["type"], Value::Null);
        assert_eq!(detail["activities"][2]["data"]["previousAttributes"], json!({"type": "access"}));

        for bad in [json!({"ticket": {}}), json!({"ticket": {"type": ""}}), json!({"ticket": {"type": "x".repeat(51)}}),
                    json!({"ticket": {"type": 1}})] {
            let r = app.tickets("PATCH", &path, Some(&bad)).await;
            assert_eq!((r.status, error_fields(&r.body)), (400, vec!["ticket.type".to_owned()]), "{bad}");
        }
        let missing = app.tickets("PATCH", &format!("{TICKETS}/3c90c3cc-0d44-4b50-8888-8dd25736052a/type"),
            Some(&json!({"ticket": {"type": "access"}}))).await;
        assert_eq!(missing.status, 404);
        let (_, token) = app.access_token("jane@example.com").await;
        let r = app.send_network("PATCH", &path, &format!("Bearer {token}"), None, Some(&json!({"ticket": {"type": "x"}}))).await;
        assert_eq!(r.status, 403);
    }

    async fn every_activity_carries_the_five_data_keys(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let ada = app.staff("ada@example.com", "Ada", "Lovelace", Role::Agent).await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await;
        let ticket = id(&created);
        app.tickets("PUT", &format!("{TICKETS}/{ticket}/status"), Some(&json!({"ticket": {"status": "solved"}}))).await;
        app.tickets("PUT", &format!("{TICKETS}/{ticket}/assignee"), Some(&json!({"ticket": {"membershipRefAssignee": ada}}))).await;
        app.tickets("PATCH", &format!("{TICKETS}/{ticket}/type"), Some(&json!({"ticket": {"type": "noise"}}))).await;
        app.tickets("POST", &format!("{TICKETS}/comment"), Some(&json!({"activity": {"ticketRef": ticket, "text": "x"}}))).await;
        let detail = app.tickets("GET", &format!("{TICKETS}/{ticket}"), None).await.body;
        let activities = detail["activities"].as_array().unwrap();
        assert_eq!(activities.len(), 5);
        for a in activities {
            for key in ["attachments", "text", "status", "membershipAssignee", "previousAttributes"] {
                assert!(a["data"].get(key).is_some(), "{} lacks {key}: {}", a["type"], a["data"]);
            }
            assert!(a["data"]["attachments"].is_array());
        }
        assert_eq!(activities[0]["data"]["previousAttributes"], Value::Null);
        assert_eq!(activities[1]["data"]["text"], Value::Null);
        assert_eq!(activities[1]["data"]["membershipAssignee"], Value::Null);
        assert_eq!(activities[2]["data"]["status"], Value::Null);
        assert_eq!(activities[4]["data"]["previousAttributes"], Value::Null);
    }

    async fn unknown_methods_answer_405_in_each_contracts_envelope(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let ticket = id(&app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await);
        for (method, path) in [("DELETE", TICKETS.to_owned()), ("GET", format!("{TICKETS}/comment")),
                               ("PATCH", format!("{TICKETS}/{ticket}")), ("GET", format!("{TICKETS}/{ticket}/status")),
                               ("PUT", format!("{TICKETS}/{ticket}/type")), ("GET", format!("{TICKETS}/{ticket}/assignee")),
                               ("GET", format!("{TICKETS}/{ticket}/comments"))] {
            let r = app.tickets(method, &path, None).await;
            assert_eq!(r.status, 405, "{method} {path}: {:?}", r.body);
            assert_eq!((r.body["error"]["code"].as_i64(), r.body["error"]["status"].as_str()), (Some(405), Some("UNIMPLEMENTED")));
        }
        let crm = format!("/v1/crm/tickets/{ticket}/external-users");
        let auth = format!("Bearer {}", app.key);
        for (method, path) in [("PUT", crm.clone()), ("GET", format!("{crm}/3c90c3cc-0d44-4b50-8888-8dd25736052a"))] {
            let r = app.send(method, &path, Some(&auth), None).await;
            assert_eq!(r.status, 405, "{method} {path}: {:?}", r.body);
            assert_eq!(r.body, json!({"statusCode": 405, "message": "Method not allowed", "error": "Method Not Allowed"}));
        }
    }

    async fn the_list_pages_newest_first_with_an_opaque_token_absent_on_the_last_page(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        for i in 0..5 {
            app.open_ticket(&location, user["id"].as_str().unwrap(), &format!("t{i}")).await;
        }
        let first = app.tickets("GET", &format!("{TICKETS}?limit=2"), None).await;
        assert_eq!(first.status, 200, "{:?}", first.body);
        let numbers = |r: &Reply| r.body["tickets"].as_array().unwrap().iter().map(|t| t["number"].as_i64().unwrap()).collect::<Vec<_>>();
        assert_eq!(numbers(&first), [5, 4]);
        let token = first.body["nextPageToken"].as_str().unwrap().to_owned();
        let second = app.tickets("GET", &format!("{TICKETS}?limit=2&pageToken={token}"), None).await;
        assert_eq!(numbers(&second), [3, 2]);
        let token = second.body["nextPageToken"].as_str().unwrap().to_owned();
        // The seed's own name for the parameter works too, and so does naming the default order.
        let last = app.tickets("GET", &format!("{TICKETS}?limit=2&order=createDate:desc&nextPageToken={token}"), None).await;
        assert_eq!(numbers(&last), [1]);
        assert_eq!(last.body.get("nextPageToken"), None);
        let all = app.tickets("GET", TICKETS, None).await;
        assert_eq!(numbers(&all), [5, 4, 3, 2, 1]);
        assert_eq!(all.body.get("nextPageToken"), None);
        let oldest = app.tickets("GET", &format!("{TICKETS}?order=createDate:asc&limit=3"), None).await;
        assert_eq!(numbers(&oldest), [1, 2, 3]);
        let token = oldest.body["nextPageToken"].as_str().unwrap().to_owned();
        let rest = app.tickets("GET", &format!("{TICKETS}?order=createDate:asc&limit=3&pageToken={token}"), None).await;
        assert_eq!(numbers(&rest), [4, 5]);

        // A token belongs to the order it was issued for.
        let r = app.tickets("GET", &format!("{TICKETS}?pageToken={token}"), None).await;
        assert_eq!((r.status, error_fields(&r.body)), (400, vec!["pageToken".to_owned()]));
        for bad in ["limit=0", "limit=101", "limit=x", "pageToken=forged", "status=done", "locationRef=nope",
                    "order=number", "order=createDate", "order=createDate:up"] {
            let r = app.tickets("GET", &format!("{TICKETS}?{bad}"), None).await;
            assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
        }
        let r = app.tickets("GET", &format!("{TICKETS}?order=updated"), None).await;
        assert_eq!(error_fields(&r.body), ["order"]);
    }

    async fn the_list_orders_by_update_date_both_ways_across_pages(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(id(&app.open_ticket(&location, user["id"].as_str().unwrap(), &format!("t{i}")).await));
        }
        // Touch 2, then 4: the update order is 1, 3, 5, 2, 4.
        for n in [2, 4] {
            let r = app.tickets("PUT", &format!("{TICKETS}/{}/status", ids[n - 1]), Some(&json!({"ticket": {"status": "solved"}}))).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
        }
        let pages = |order: &'static str| {
            let app = &app;
            async move {
                let mut seen = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let q = token.as_ref().map_or(String::new(), |t| format!("&pageToken={t}"));
                    let r = app.tickets("GET", &format!("{TICKETS}?order={order}&limit=2{q}"), None).await;
                    assert_eq!(r.status, 200, "{:?}", r.body);
                    seen.extend(r.body["tickets"].as_array().unwrap().iter().map(|t| t["number"].as_i64().unwrap()));
                    match r.body["nextPageToken"].as_str() {
                        Some(t) => token = Some(t.to_owned()),
                        None => return seen,
                    }
                }
            }
        };
        assert_eq!(pages("updateDate:asc").await, [1, 3, 5, 2, 4]);
        assert_eq!(pages("updateDate:desc").await, [4, 2, 5, 3, 1]);
        assert_eq!(pages("createDate:desc").await, [5, 4, 3, 2, 1]);
    }

    async fn the_list_filters_by_status_assignee_requester_and_location(app) {
        let desk = app.location("Desk").await;
        let lobby = app.location("Lobby").await;
        let jane = app.external_user("jane@example.com", "Jane").await["id"].as_str().unwrap().to_owned();
        let john = app.external_user("john@example.com", "John").await["id"].as_str().unwrap().to_owned();
        let ada = app.staff("ada@example.com", "Ada", "Lovelace", Role::Agent).await;
        let t1 = app.open_ticket(&desk, &jane, "one").await;
        let t2 = app.open_ticket(&lobby, &john, "two").await;
        app.open_ticket(&desk, &john, "three").await;
        app.tickets("PUT", &format!("{TICKETS}/{}/status", id(&t1)), Some(&json!({"ticket": {"status": "inProgress"}}))).await;
        app.tickets("PUT", &format!("{TICKETS}/{}/assignee", id(&t2)), Some(&json!({"ticket": {"membershipRefAssignee": ada}}))).await;
        let numbers = |q: String| {
            let app = &app;
            async move {
                let r = app.tickets("GET", &format!("{TICKETS}?order=createDate:asc&{q}"), None).await;
                assert_eq!(r.status, 200, "{q}: {:?}", r.body);
                r.body["tickets"].as_array().unwrap().iter().map(|t| t["number"].as_i64().unwrap()).collect::<Vec<_>>()
            }
        };
        assert_eq!(numbers("status=inProgress".into()).await, [1]);
        // Earlier names filter as the product's.
        assert_eq!(numbers("status=open".into()).await, [1]);
        assert_eq!(numbers("status=new,inProgress".into()).await, [1, 2, 3]);
        assert_eq!(numbers("status=solved".into()).await, Vec::<i64>::new());
        // Every value counts, however it is given.
        assert_eq!(numbers("status=solved&status=inProgress".into()).await, [1]);
        assert_eq!(numbers("status[]=solved&status[]=inProgress".into()).await, [1]);
        assert_eq!(numbers("status[0]=inProgress&status[1]=new".into()).await, [1, 2, 3]);
        assert_eq!(numbers("status=solved&status=new,open".into()).await, [1, 2, 3]);
        assert_eq!(numbers(format!("membershipRefAssignee={ada}")).await, [2]);
        assert_eq!(numbers(format!("userRefAssignee={ada}")).await, [2]);
        assert_eq!(numbers(format!("membershipRefRequester={john}")).await, [2, 3]);
        assert_eq!(numbers(format!("locationRef={desk}")).await, [1, 3]);
        assert_eq!(numbers(format!("locationRef={desk}&membershipRefRequester={john}")).await, [3]);
    }

    async fn the_network_header_must_name_the_credentials_workspace(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Secret").await;
        let path = format!("{TICKETS}/{}", id(&created));
        let bearer = format!("Bearer {}", app.key);
        let (other_ws, other_key, _) = app.other_workspace().await;

        assert_eq!(app.send_network("GET", &path, &bearer, None, None).await.status, 200);
        let r = app.send_network("GET", &path, &bearer, Some(&other_ws), None).await;
        assert_eq!((r.status, r.body["error"]["status"].as_str()), (403, Some("PERMISSION_DENIED")));
        assert_eq!(app.send_network("GET", TICKETS, &bearer, Some(&other_ws), None).await.status, 403);
        assert_eq!(app.send_network("GET", &path, &bearer, Some("not-a-uuid"), None).await.status, 400);
        // The other workspace's key naming our network is refused, and with its own it finds nothing.
        let other = format!("Bearer {other_key}");
        assert_eq!(app.send_network("GET", &path, &other, Some(&app.workspace_id), None).await.status, 403);
        assert_eq!(app.send_network("GET", &path, &other, Some(&other_ws), None).await.status, 404);
        let r = app.send_network("PUT", &format!("{path}/status"), &other, Some(&other_ws),
            Some(&json!({"ticket": {"status": "solved"}}))).await;
        assert_eq!(r.status, 404);
        let list = app.send_network("GET", TICKETS, &other, Some(&other_ws), None).await;
        assert_eq!(list.body["tickets"], json!([]));
        let r = app.send_network("GET", TICKETS, "Bearer nope", None, None).await;
        assert_eq!((r.status, r.body["error"]["status"].as_str()), (401, Some("UNAUTHENTICATED")));
    }

    async fn basic_auth_takes_the_key_id_and_the_key(app) {
        let r = app.post("/api/v1/api-keys", &json!({"name": "client", "role": "agent"})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let (key_id, secret) = (r.body["id"].as_str().unwrap(), r.body["key"].as_str().unwrap());
        let basic = |id: &str, secret: &str| format!("Basic {}", base64(&format!("{id}:{secret}")));
        assert_eq!(app.send_network("GET", TICKETS, &basic(key_id, secret), None, None).await.status, 200);
        let wrong_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        assert_eq!(app.send_network("GET", TICKETS, &basic(wrong_id, secret), None, None).await.status, 401);
        assert_eq!(app.send_network("GET", TICKETS, &basic(key_id, "nope"), None, None).await.status, 401);
    }

    async fn external_users_open_and_see_only_their_own_tickets_without_internal_comments(app) {
        let location = app.location("Desk").await;
        let (jane, jane_token) = app.access_token("jane@example.com").await;
        let (john, john_token) = app.access_token("john@example.com").await;
        let jane_auth = format!("Bearer {jane_token}");
        let as_jane = |method: &'static str, path: String, body: Option<Value>| {
            let app = &app;
            let auth = jane_auth.clone();
            async move { app.send_network(method, &path, &auth, Some(&app.workspace_id), body.as_ref()).await }
        };

        // Opening: the requester defaults to the caller, may name itself, never someone else.
        let r = as_jane("POST", TICKETS.into(), Some(json!({"ticket": {"locationRef": location, "text": "My desk"}}))).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["ticket"]["membershipRefRequester"], jane.as_str());
        let mine = id(&r.body);
        let r = as_jane("POST", TICKETS.into(), Some(json!({"ticket": {"locationRef": location, "text": "x", "userRefRequester": john}}))).await;
        assert_eq!(r.status, 403);

        let johns = app.open_ticket(&location, &john, "John's").await;
        app.tickets("POST", &format!("{TICKETS}/{mine}/comments"), Some(&json!({"comment": {"text": "internal note", "internal": true}}))).await;
        app.tickets("POST", &format!("{TICKETS}/{mine}/comments"), Some(&json!({"comment": {"text": "public reply"}}))).await;

        let list = as_jane("GET", TICKETS.into(), None).await;
        let ids: Vec<&str> = list.body["tickets"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [mine.as_str()]);
        assert_eq!(as_jane("GET", format!("{TICKETS}/{}", id(&johns)), None).await.status, 404);
        let detail = as_jane("GET", format!("{TICKETS}/{mine}"), None).await;
        let texts: Vec<&str> = detail.body["activities"].as_array().unwrap().iter().map(|a| a["data"]["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["My desk", "public reply"]);
        // The team sees the internal note.
        let team = app.tickets("GET", &format!("{TICKETS}/{mine}"), None).await;
        assert_eq!(team.body["activities"].as_array().unwrap().len(), 3);

        // Commenting publicly is allowed; internal comments and changes are not.
        let r = as_jane("POST", format!("{TICKETS}/{mine}/comments"), Some(json!({"comment": {"text": "Thanks"}}))).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["activity"]["membership"]["id"], jane.as_str());
        let r = as_jane("POST", format!("{TICKETS}/{mine}/comments"), Some(json!({"comment": {"text": "x", "internal": true}}))).await;
        assert_eq!(r.status, 403);
        let r = as_jane("POST", format!("{TICKETS}/{}/comments", id(&johns)), Some(json!({"comment": {"text": "x"}}))).await;
        assert_eq!(r.status, 404);
        let r = as_jane("PUT", format!("{TICKETS}/{mine}/status"), Some(json!({"ticket": {"status": "closed"}}))).await;
        assert_eq!(r.status, 403);
        let r = as_jane("PUT", format!("{TICKETS}/{mine}/assignee"), Some(json!({"ticket": {"membershipRefAssignee": null}}))).await;
        assert_eq!(r.status, 403);

        // A participant of John's ticket sees it too.
        let r = app.send("POST", &format!("/v1/crm/tickets/{}/external-users", id(&johns)), Some(&format!("Bearer {}", app.key)),
            Some(r#"{"email": "JANE@example.com"}"#)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let list = as_jane("GET", TICKETS.into(), None).await;
        assert_eq!(list.body["tickets"].as_array().unwrap().len(), 2);
        assert_eq!(as_jane("GET", format!("{TICKETS}/{}", id(&johns)), None).await.status, 200);
        let _ = john_token;
    }

    // A read answers the newest activities with a keyset token for the older ones: pages neither
    // overlap nor skip, a comment added while paging shifts nothing, and internal comments stay
    // hidden from external users on every page.
    async fn a_ticket_read_answers_its_newest_activities_and_a_token_for_older_ones(app) {
        let location = app.location("Desk").await;
        let user = app.external_user("jane@example.com", "Jane").await;
        let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await;
        let ticket = id(&created);
        for n in 1..=6 {
            let body = json!({"comment": {"text": format!("c{n}"), "internal": n == 3}});
            let r = app.tickets("POST", &format!("{TICKETS}/{ticket}/comments"), Some(&body)).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
        }
        let texts = |b: &Value| -> Vec<String> {
            b["activities"].as_array().unwrap().iter().map(|a| a["data"]["text"].as_str().unwrap().to_owned()).collect()
        };

        let whole = app.tickets("GET", &format!("{TICKETS}/{ticket}"), None).await;
        assert_eq!(whole.status, 200, "{:?}", whole.body);
        assert_eq!(texts(&whole.body), ["Noise", "c1", "c2", "c3", "c4", "c5", "c6"]);
        assert!(whole.body.get("olderActivitiesPageToken").is_none(), "{:?}", whole.body);

        let first = app.tickets("GET", &format!("{TICKETS}/{ticket}?activitiesLimit=3"), None).await;
        assert_eq!(texts(&first.body), ["c4", "c5", "c6"], "the newest, oldest first among them");
        assert_eq!(first.body["ticket"], whole.body["ticket"], "the ticket keeps its shape");
        let token = first.body["olderActivitiesPageToken"].as_str().expect("a token for older ones").to_owned();
        let c7 = json!({"comment": {"text": "c7"}});
        assert_eq!(app.tickets("POST", &format!("{TICKETS}/{ticket}/comments"), Some(&c7)).await.status, 201);
        let second =
            app.tickets("GET", &format!("{TICKETS}/{ticket}?activitiesLimit=3&activitiesPageToken={token}"), None).await;
        assert_eq!(second.status, 200, "{:?}", second.body);
        assert_eq!(texts(&second.body), ["c1", "c2", "c3"], "a comment added meanwhile shifts nothing");
        let token = second.body["olderActivitiesPageToken"].as_str().unwrap().to_owned();
        let last =
            app.tickets("GET", &format!("{TICKETS}/{ticket}?activitiesLimit=3&activitiesPageToken={token}"), None).await;
        assert_eq!(texts(&last.body), ["Noise"]);
        assert!(last.body.get("olderActivitiesPageToken").is_none(), "the oldest page has no token");

        let (_, access) = app.access_token("jane@example.com").await;
        let auth = format!("Bearer {access}");
        let mine = app.send_network("GET", &format!("{TICKETS}/{ticket}?activitiesLimit=2"), &auth, None, None).await;
        assert_eq!(texts(&mine.body), ["c6", "c7"]);
        let older_page = |b: &Value| {
            let token = b["olderActivitiesPageToken"].as_str().expect("a token").to_owned();
            format!("{TICKETS}/{ticket}?activitiesLimit=2&activitiesPageToken={token}")
        };
        let older = app.send_network("GET", &older_page(&mine.body), &auth, None, None).await;
        assert_eq!(texts(&older.body), ["c4", "c5"], "the internal c3 is not on any page of theirs");
        let older = app.send_network("GET", &older_page(&older.body), &auth, None, None).await;
        assert_eq!(texts(&older.body), ["c1", "c2"]);

        for (query, field) in [
            ("activitiesLimit=0", "activitiesLimit"),
            ("activitiesLimit=101", "activitiesLimit"),
            ("activitiesPageToken=t2abcd", "activitiesPageToken"),
            ("activitiesPageToken=a1zz", "activitiesPageToken"),
        ] {
            let r = app.tickets("GET", &format!("{TICKETS}/{ticket}?{query}"), None).await;
            assert_eq!(r.status, 400, "{query}: {:?}", r.body);
            assert_eq!(error_fields(&r.body), [field], "{query}");
        }
    }
}

/// Standard base64, for building Basic credentials in tests.
fn base64(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Seed 002's limit, when configured: past the rate a credential gets 429 in the contract's envelope,
/// other credentials are unaffected, and the bucket refills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_rate_limit_answers_429_per_credential() {
    let app = TestApp::sqlite_with_ticket_rate_limit(10).await;
    let statuses = join_all((0..15).map(|_| app.tickets("GET", TICKETS, None))).await;
    let limited: Vec<_> = statuses.iter().filter(|r| r.status == 429).collect();
    assert_eq!(statuses.iter().filter(|r| r.status == 200).count(), 10);
    assert_eq!(limited.len(), 5);
    assert_eq!(limited[0].body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(limited[0].header("retry-after"), Some("1"));

    let other = app.post("/api/v1/api-keys", &json!({"name": "Other", "role": "agent"})).await.body;
    let other = format!("Bearer {}", other["key"].as_str().unwrap());
    assert_eq!(app.send_network("GET", TICKETS, &other, None, None).await.status, 200);
    assert_eq!(app.get("/api/v1/external-users").await.status, 200, "other contracts are not limited");

    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    assert_eq!(app.tickets("GET", TICKETS, None).await.status, 200, "tokens refill over time");
}

/// Anyone with access to a ticket may comment, so a ticket holds at most 1,000 comments: past that a
/// comment is a 409 in the contract's envelope, on either route, while other changes still go through.
#[tokio::test]
async fn a_ticket_takes_at_most_1000_comments_then_a_409_in_the_envelope() {
    let app = TestApp::sqlite().await;
    let location = app.location("Desk").await;
    let user = app.external_user("jane@example.com", "Jane").await;
    let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await;
    let path = format!("{TICKETS}/{}/comments", id(&created));
    let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "first"}}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // 998 more comments written straight to the database (1,000 requests would slow the suite),
    // each dated before the first so the timeline keeps its order.
    let pool = sqlx::SqlitePool::connect(&app.database.url).await.expect("open the database");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 998) \
         INSERT INTO ticket_activities \
         (id, workspace_id, ticket_id, type, created_by, text, internal, attachments, created_at) \
         SELECT randomblob(16), a.workspace_id, a.ticket_id, 'comment', a.created_by, 'filler', FALSE, '[]', \
         a.created_at - n.i FROM ticket_activities a, n WHERE a.type = 'comment' AND a.text = 'first'",
    )
    .execute(&pool)
    .await
    .expect("filler comments");
    pool.close().await;

    let r = app.tickets("POST", &path, Some(&json!({"comment": {"text": "the thousandth"}}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    for attempt in
        [json!({"comment": {"text": "one too many"}}), json!({"comment": {"text": "team", "internal": true}})]
    {
        let r = app.tickets("POST", &path, Some(&attempt)).await;
        assert_eq!(r.status, 409, "{:?}", r.body);
        assert_eq!(r.body["error"]["status"], "FAILED_PRECONDITION");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("1000"), "{:?}", r.body);
    }
    let body = json!({"activity": {"ticketRef": id(&created), "text": "by the product's route"}});
    assert_eq!(app.tickets("POST", &format!("{TICKETS}/comment"), Some(&body)).await.status, 409);
    let status = format!("{TICKETS}/{}/status", id(&created));
    let r = app.tickets("PUT", &status, Some(&json!({"ticket": {"status": "solved"}}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// A ticket at its 1,000 comments answers a read with its newest 50 activities, not its timeline.
#[tokio::test]
async fn a_full_ticket_is_read_fifty_activities_at_a_time() {
    let app = TestApp::sqlite().await;
    let location = app.location("Desk").await;
    let user = app.external_user("jane@example.com", "Jane").await;
    let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Noise").await;
    let pool = sqlx::SqlitePool::connect(&app.database.url).await.expect("open the database");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
         INSERT INTO ticket_activities \
         (id, workspace_id, ticket_id, type, created_by, text, internal, attachments, created_at) \
         SELECT randomblob(16), a.workspace_id, a.ticket_id, 'comment', a.created_by, printf('%01000d', n.i), FALSE, \
         '[]', a.created_at + n.i FROM ticket_activities a, n WHERE a.type = 'created'",
    )
    .execute(&pool)
    .await
    .expect("filler comments");
    pool.close().await;
    let mut seen = 0;
    let mut path = format!("{TICKETS}/{}", id(&created));
    let mut pages = 0;
    loop {
        let r = app.tickets("GET", &path, None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let n = r.body["activities"].as_array().unwrap().len();
        assert!(n <= 50, "{n} activities in one read");
        assert!(r.body.to_string().len() < 100_000, "one read stays small");
        seen += n;
        pages += 1;
        match r.body["olderActivitiesPageToken"].as_str() {
            Some(token) => path = format!("{TICKETS}/{}?activitiesPageToken={token}", id(&created)),
            None => break,
        }
    }
    assert_eq!((seen, pages), (1001, 21), "every activity once, 50 a page");
}
