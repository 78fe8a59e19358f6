//! Seed 000: ticket external users — add by e-mail, list, remove; the person is an external user of
//! the workspace's e-mail channel.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

async fn ticket(app: &TestApp) -> String {
    let location = app.location("Desk").await;
    let email = format!("requester-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = app.external_user(&email, "Requester").await;
    let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Refund please").await;
    created["ticket"]["id"].as_str().unwrap().to_owned()
}

fn path(ticket: &str) -> String {
    format!("/v1/crm/tickets/{ticket}/external-users")
}

async fn key_id(app: &TestApp) -> String {
    let keys = app.get("/api/v1/api-keys").await.body;
    keys[0]["id"].as_str().unwrap().to_owned()
}

on_both_backends! {
    async fn adding_by_email_answers_201_in_the_seed_shape(app) {
        let t = ticket(&app).await;
        let bearer = format!("Bearer {}", app.key);
        let r = app.send("POST", &path(&t), Some(&bearer), Some(r#"{"email": "jsmith@example.com"}"#)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let keys: Vec<&str> = r.body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert_eq!(r.body["ticketId"], t.as_str());
        assert_eq!(r.body["email"], "jsmith@example.com");
        let by = key_id(&app).await;
        assert_eq!(r.body["createdBy"], by.as_str());
        assert_eq!(r.body["updatedBy"], by.as_str());
        assert!(r.body["createdAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(r.body["createdAt"], r.body["updatedAt"]);
        assert!(frontdesk::domain::parse_uuid(r.body["id"].as_str().unwrap()).is_some());

        // The person is now an external user of the e-mail channel.
        let users = app.get(&format!("/api/v1/external-users?channelIds={}&search=jsmith", app.email_channel_id)).await.body;
        assert_eq!(users.as_array().unwrap().len(), 1);
        assert_eq!(users[0]["identifier"], "jsmith@example.com");
    }

    async fn an_existing_external_user_is_matched_case_insensitively(app) {
        let t = ticket(&app).await;
        let existing = app.external_user("Jane.Doe@Example.com", "Jane").await;
        let r = app.post(&path(&t), &json!({"email": "jane.doe@example.com"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["email"], "Jane.Doe@Example.com");
        let users = app.get("/api/v1/external-users?search=jane.doe").await.body;
        assert_eq!(users.as_array().unwrap().len(), 1);
        assert_eq!(users[0]["id"], existing["id"]);
    }

    async fn the_same_email_twice_is_a_conflict(app) {
        let t = ticket(&app).await;
        assert_eq!(app.post(&path(&t), &json!({"email": "dup@example.com"})).await.status, 201);
        let r = app.post(&path(&t), &json!({"email": "DUP@example.com"})).await;
        assert_eq!(r.status, 409, "{:?}", r.body);
        assert_eq!(r.body["statusCode"], 409);
        assert_eq!(r.body["error"], "Conflict");
        assert_eq!(app.get(&path(&t)).await.body.as_array().unwrap().len(), 1);
        // The same person may join another ticket.
        let other = ticket(&app).await;
        assert_eq!(app.post(&path(&other), &json!({"email": "dup@example.com"})).await.status, 201);
    }

    async fn emails_follow_the_seed_pattern_and_length(app) {
        let t = ticket(&app).await;
        for bad in [json!({}), json!({"email": null}), json!({"email": 5}), json!({"email": ".a@example.com"}),
                    json!({"email": "a..b@example.com"}), json!({"email": "a@example"}), json!({"email": "a.@example.com"})] {
            let r = app.post(&path(&t), &bad).await;
            assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
            assert_eq!(r.body["statusCode"], 400);
            assert_eq!(r.body["error"], "Bad Request");
            assert_eq!(r.body["errors"][0]["field"], "email");
            assert!(r.body["message"][0].as_str().unwrap().starts_with("email "));
        }
        let domain = format!("{}.com", "a".repeat(60));
        let at_limit = format!("{}@{domain}", "l".repeat(254 - 1 - domain.len()));
        assert_eq!(app.post(&path(&t), &json!({"email": at_limit})).await.status, 201);
        let over = format!("l{at_limit}");
        assert_eq!(app.post(&path(&t), &json!({"email": over})).await.status, 400);
        let r = app.send("POST", &path(&t), Some(&app.key), Some("not json")).await;
        assert_eq!(r.status, 400);
    }

    async fn listing_and_removing_ticket_external_users(app) {
        let t = ticket(&app).await;
        let a = app.post(&path(&t), &json!({"email": "ann.participant@example.com"})).await.body;
        let b = app.post(&path(&t), &json!({"email": "bob.participant@example.com"})).await.body;
        let list = app.get(&path(&t)).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body, json!([a, b]));
        let r = app.delete(&format!("{}/{}", path(&t), a["id"].as_str().unwrap())).await;
        assert_eq!((r.status, &r.body), (204, &Value::Null));
        assert_eq!(app.get(&path(&t)).await.body, json!([b]));
        let r = app.delete(&format!("{}/{}", path(&t), a["id"].as_str().unwrap())).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Ticket external user not found.")));
        // The external user stays; only its access to the ticket went.
        assert_eq!(app.get("/api/v1/external-users?search=ann.participant%40example.com").await.body.as_array().unwrap().len(), 1);
    }

    async fn the_tickets_timeline_says_who_added_and_removed_a_participant(app) {
        let t = ticket(&app).await;
        let added = app.post(&path(&t), &json!({"email": "ann.participant@example.com"})).await.body;
        app.delete(&format!("{}/{}", path(&t), added["id"].as_str().unwrap())).await;
        let ann = app.get("/api/v1/external-users?search=ann.participant%40example.com").await.body;
        let detail = app.tickets("GET", &format!("/support/tickets/v1/{t}"), None).await.body;
        let activities = detail["activities"].as_array().unwrap();
        let kinds: Vec<&str> = activities.iter().map(|a| a["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["created", "participantAdded", "participantRemoved"]);
        for a in &activities[1..] {
            let who = &a["data"]["membershipParticipant"];
            assert_eq!((who["type"].as_str(), who["user"]["email"].as_str()), (Some("external"), Some("ann.participant@example.com")));
            assert_eq!(who["id"], ann[0]["id"]);
        }
        let second = |v: &Value| v.as_str().unwrap()[..19].to_owned();
        assert_eq!(second(&activities[1]["createDate"]), second(&added["createdAt"]), "added when the participant was");
    }

    async fn unknown_tickets_bad_ids_and_missing_keys_are_refused(app) {
        let unknown = "3c90c3cc-0d44-4b50-8888-8dd25736052a";
        let r = app.post(&path(unknown), &json!({"email": "a@example.com"})).await;
        assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Ticket not found.")));
        assert_eq!(app.get(&path(unknown)).await.status, 404);
        assert_eq!(app.delete(&format!("{}/{unknown}", path(unknown))).await.status, 404);
        let r = app.get(&path("nope")).await;
        assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (400, Some("ticketId")));
        let t = ticket(&app).await;
        assert_eq!(app.delete(&format!("{}/nope", path(&t))).await.status, 400);
        let r = app.send("GET", &path(&t), None, None).await;
        assert_eq!((r.status, r.body["statusCode"].as_i64()), (401, Some(401)));
        let r = app.send("POST", &path(&t), Some("Bearer wrong"), Some(r#"{"email":"a@example.com"}"#)).await;
        assert_eq!(r.status, 401);
    }

    async fn another_workspace_cannot_see_or_change_a_tickets_external_users(app) {
        let t = ticket(&app).await;
        let added = app.post(&path(&t), &json!({"email": "a@example.com"})).await.body;
        let (_, other_key, _) = app.other_workspace().await;
        let other = format!("Bearer {other_key}");
        assert_eq!(app.send("GET", &path(&t), Some(&other), None).await.status, 404);
        let r = app.send("POST", &path(&t), Some(&other), Some(r#"{"email": "x@example.com"}"#)).await;
        assert_eq!(r.status, 404);
        let r = app.send("DELETE", &format!("{}/{}", path(&t), added["id"].as_str().unwrap()), Some(&other), None).await;
        assert_eq!(r.status, 404);
        assert_eq!(app.get(&path(&t)).await.body.as_array().unwrap().len(), 1);
        // Nobody named x@example.com was created in either workspace.
        assert_eq!(app.get("/api/v1/external-users?search=x@example.com").await.body, json!([]));
    }

    async fn agent_keys_may_manage_ticket_external_users(app) {
        let t = ticket(&app).await;
        let agent = app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body;
        let auth = format!("Bearer {}", agent["key"].as_str().unwrap());
        let r = app.send("POST", &path(&t), Some(&auth), Some(r#"{"email": "a@example.com"}"#)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert_eq!(r.body["createdBy"], agent["id"]);
    }
}
