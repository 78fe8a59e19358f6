//! Jira Service Management request comments: the same comments as the support tickets API's activities
//! and the agent console's timeline, public ones being public replies and internal ones internal notes.

use frontdesk::domain::Role;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, on_both_backends};
use crate::web::{Browser, PASSWORD, staff_user};

const TICKETS: &str = "/support/tickets/v1";

/// A ticket requested by a customer of the e-mail channel: (ticket id, number, the customer's address).
async fn ticket(app: &TestApp) -> (String, i64, String) {
    let location = app.location("Desk").await;
    let email = format!("requester-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = app.external_user(&email, "Rita Requester").await;
    let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "My laptop will not boot").await;
    (created["ticket"]["id"].as_str().unwrap().to_owned(), created["ticket"]["number"].as_i64().unwrap(), email)
}

fn comments(issue: &str) -> String {
    format!("/rest/servicedeskapi/request/{issue}/comment")
}

async fn comment_as(app: &TestApp, auth: &str, issue: &str, body: &Value) -> Reply {
    app.send("POST", &comments(issue), Some(auth), Some(&body.to_string())).await
}

async fn comment(app: &TestApp, issue: &str, text: &str, public: bool) -> Value {
    let r = comment_as(app, &app.key, issue, &json!({"body": text, "public": public})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn bodies(page: &Value) -> Vec<String> {
    page["values"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap().to_owned()).collect()
}

fn parameters(r: &Reply) -> Vec<String> {
    let list = r.body["i18nErrorMessage"]["parameters"].as_array().unwrap();
    list.iter().map(|p| p.as_str().unwrap().to_owned()).collect()
}

/// The timeline's comments as the support tickets API shows them: (text, internal).
async fn ticket_comments(app: &TestApp, id: &str) -> Vec<(String, bool)> {
    let r = app.tickets("GET", &format!("{TICKETS}/{id}"), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "comment")
        .map(|a| (a["data"]["text"].as_str().unwrap().to_owned(), a["data"]["internal"].as_bool().unwrap()))
        .collect()
}

on_both_backends! {
    async fn an_agent_adds_public_and_internal_comments_and_reads_them_in_jsms_shape(app) {
        let (_, number, _) = ticket(&app).await;
        let key = format!("FD-{number}");
        let reply = comment(&app, &key, "We are looking into it.", true).await;
        let note = comment(&app, &key, "Disk is dead; order a new one.", false).await;

        let keys: Vec<&str> = reply.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["_expands", "id", "body", "public", "author", "created", "_links"], "{reply}");
        assert_eq!(reply["id"], format!("{}", number * 10_000 + 1).as_str(), "a numeric id, as JSM's");
        assert_eq!(note["id"], format!("{}", number * 10_000 + 2).as_str());
        assert_eq!(reply["body"], "We are looking into it.");
        assert_eq!((reply["public"].clone(), note["public"].clone()), (json!(true), json!(false)));
        assert_eq!(reply["author"]["displayName"], "Frontdesk", "an API key is no person: the desk writes");
        assert_eq!(reply["author"]["emailAddress"], "");
        for field in ["iso8601", "jira", "friendly", "epochMillis"] {
            assert!(!reply["created"][field].is_null(), "{field}: {reply}");
        }
        let self_link = format!("{}/rest/servicedeskapi/request/{number}/comment/{}", app.base, reply["id"].as_str().unwrap());
        assert_eq!(reply["_links"]["self"], self_link.as_str());
        assert_eq!(reply.get("renderedBody"), None, "only when expand=renderedBody");

        let one = app.get(&format!("{}/{}", comments(&key), note["id"].as_str().unwrap())).await;
        assert_eq!(one.status, 200, "{:?}", one.body);
        assert_eq!(one.body, note);
        let by_number = app.get(&format!("{}/{}", comments(&number.to_string()), reply["id"].as_str().unwrap())).await;
        assert_eq!(by_number.body, reply, "the request by its numeric id names the same comment");

        let page = app.get(&comments(&key)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(page.body["values"], json!([reply, note]), "oldest first");
        assert_eq!((page.body["size"].clone(), page.body["isLastPage"].clone()), (json!(2), json!(true)));
        assert_eq!(page.body["_links"]["base"], format!("{}/rest/servicedeskapi", app.base).as_str());

        // An agent key may write both kinds as well.
        let agent = app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body["key"]
            .as_str().unwrap().to_owned();
        let r = comment_as(&app, &format!("Bearer {agent}"), &key, &json!({"body": "agent note", "public": false})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }

    async fn comments_are_the_support_tickets_activities_in_both_directions(app) {
        let (id, number, email) = ticket(&app).await;
        comment(&app, &id, "Public from JSM", true).await;
        comment(&app, &id, "Internal from JSM", false).await;
        let body = json!({"comment": {"text": "Internal from tickets", "internal": true}});
        assert_eq!(app.tickets("POST", &format!("{TICKETS}/{id}/comments"), Some(&body)).await.status, 201);
        let (_, token) = app.access_token(&email).await;
        let body = json!({"activity": {"ticketRef": id, "text": "Customer reply from tickets"}});
        let r = app.send_network("POST", &format!("{TICKETS}/comment"), &format!("Bearer {token}"), None, Some(&body)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);

        assert_eq!(ticket_comments(&app, &id).await, [
            ("Public from JSM".to_owned(), false),
            ("Internal from JSM".to_owned(), true),
            ("Internal from tickets".to_owned(), true),
            ("Customer reply from tickets".to_owned(), false),
        ]);
        let page = app.get(&comments(&format!("FD-{number}"))).await.body;
        assert_eq!(bodies(&page), ["Public from JSM", "Internal from JSM", "Internal from tickets", "Customer reply from tickets"]);
        let publics: Vec<bool> = page["values"].as_array().unwrap().iter().map(|c| c["public"].as_bool().unwrap()).collect();
        assert_eq!(publics, [true, false, false, true]);
        let customer = &page["values"][3]["author"];
        assert_eq!(customer["emailAddress"], email.as_str(), "the customer wrote it: {customer}");
        assert_eq!(customer["displayName"], "Rita Requester");
        let me = app.send("GET", &format!("/rest/api/2/user?accountId={}", customer["accountId"].as_str().unwrap()), Some(&app.key), None).await;
        assert_eq!(me.status, 200, "the author's self link leads to its user: {:?}", me.body);
    }

    async fn the_console_timeline_shows_jsm_comments_and_its_notes_are_jsm_comments(app) {
        let (id, number, _) = ticket(&app).await;
        comment(&app, &id, "Reply written over JSM", true).await;
        comment(&app, &id, "Note written over JSM", false).await;
        staff_user(&app, "agent@example.com", Role::Agent).await;
        let mut b = Browser::new(&app);
        assert_eq!(b.sign_in("agent@example.com", PASSWORD).await.status, 303);
        let href = format!("/settings/console/tickets/{id}");
        let page = b.get(&href).await;
        assert!(page.body.contains("Reply written over JSM") && page.body.contains("Note written over JSM"), "{}", page.body);
        assert!(page.body.contains("added an internal note") && page.body.contains("replied"));

        let csrf = b.get(&href).await.csrf();
        let posted = b.post(&format!("{href}/comment"), &[("csrf_token", csrf.as_str()), ("text", "Console note"), ("visibility", "internal")], &[]).await;
        assert_eq!(posted.status, 303);
        let listed = app.get(&comments(&format!("FD-{number}"))).await.body;
        assert_eq!(bodies(&listed), ["Reply written over JSM", "Note written over JSM", "Console note"]);
        let note = &listed["values"][2];
        assert_eq!(note["public"], false);
        assert_eq!(note["author"]["emailAddress"], "agent@example.com", "the staff member wrote it: {note}");
        assert_eq!(note["author"]["active"], true);
    }

    async fn a_customer_writes_and_reads_public_comments_only_on_its_own_requests(app) {
        let (_, number, email) = ticket(&app).await;
        let key = format!("FD-{number}");
        let internal = comment(&app, &key, "Team only", false).await;
        comment(&app, &key, "Hello Rita", true).await;
        let (_, token) = app.access_token(&email).await;
        // Jira Cloud clients send e-mail and token as Basic credentials.
        use base64::Engine as _;
        let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}")));
        for auth in [format!("Bearer {token}"), basic] {
            let r = comment_as(&app, &auth, &key, &json!({"body": "Thanks!", "public": true})).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            assert_eq!(r.body["author"]["emailAddress"], email.as_str());
            let r = comment_as(&app, &auth, &key, &json!({"body": "psst", "public": false})).await;
            assert_eq!(r.status, 403, "customers may only comment publicly: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.forbidden");

            let r = app.send("GET", &format!("{}?internal=true", comments(&key)), Some(&auth), None).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            assert!(!bodies(&r.body).contains(&"Team only".to_owned()), "{:?}", r.body);
            assert!(bodies(&r.body).contains(&"Hello Rita".to_owned()));
            let one = format!("{}/{}", comments(&key), internal["id"].as_str().unwrap());
            let r = app.send("GET", &one, Some(&auth), None).await;
            assert_eq!(r.status, 404, "an internal comment is absent for a customer: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.comment.not.found");
            let r = app.send("GET", "/rest/servicedeskapi/servicedesk", Some(&auth), None).await;
            assert_eq!(r.status, 403, "a customer is no agent: {:?}", r.body);
        }

        let (_, stranger) = app.access_token("stranger@example.com").await;
        let auth = format!("Bearer {stranger}");
        let r = app.send("GET", &comments(&key), Some(&auth), None).await;
        assert_eq!(r.status, 404, "another customer's request is not found: {:?}", r.body);
        let r = comment_as(&app, &auth, &key, &json!({"body": "hi", "public": true})).await;
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.request.not.found");
    }

    async fn paging_never_claims_the_last_page_early_and_public_and_internal_pick_the_kinds(app) {
        let (id, _, _) = ticket(&app).await;
        for (text, public) in [("one", true), ("two", false), ("three", true)] {
            comment(&app, &id, text, public).await;
        }
        let first = app.get(&format!("{}?start=0&limit=2", comments(&id))).await.body;
        assert_eq!(bodies(&first), ["one", "two"]);
        assert_eq!(first["isLastPage"], false);
        assert!(first["_links"]["next"].as_str().unwrap().contains("start=2&limit=2"), "{first}");
        let last = app.get(&format!("{}?start=2&limit=2", comments(&id))).await.body;
        assert_eq!(bodies(&last), ["three"]);
        assert_eq!(last["isLastPage"], true);
        assert_eq!(last["_links"].get("next"), None);
        let exact = app.get(&format!("{}?start=0&limit=3", comments(&id))).await.body;
        assert_eq!(exact["isLastPage"], true, "a page that ends exactly at the end is the last");

        let internal = app.get(&format!("{}?public=false", comments(&id))).await.body;
        assert_eq!(bodies(&internal), ["two"]);
        // atlassian-python-api sends Python's `True`.
        let public = app.get(&format!("{}?public=True&internal=False", comments(&id))).await.body;
        assert_eq!(bodies(&public), ["one", "three"]);
        let none = app.get(&format!("{}?public=false&internal=false", comments(&id))).await.body;
        assert_eq!((none["size"].clone(), none["isLastPage"].clone()), (json!(0), json!(true)));
        let paged = app.get(&format!("{}?internal=false&limit=1", comments(&id))).await.body;
        assert!(paged["_links"]["next"].as_str().unwrap().ends_with("&internal=false"), "{paged}");

        let r = app.get(&format!("{}?public=maybe", comments(&id))).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(parameters(&r), ["public"]);
        let r = app.get(&format!("{}?limit=0", comments(&id))).await;
        assert_eq!(r.status, 400);

        let html = app.get(&format!("{}?expand=renderedBody", comments(&id))).await.body;
        assert_eq!(html["values"][0]["renderedBody"]["html"], "<p>one</p>");
    }

    async fn bad_comments_are_400s_naming_the_field_in_jiras_envelope(app) {
        let (id, number, _) = ticket(&app).await;
        for (body, field) in [
            (json!({"body": "", "public": true}), "body"),
            (json!({"body": "  \n ", "public": true}), "body"),
            (json!({"public": true}), "body"),
            (json!({"body": 7, "public": true}), "body"),
            (json!({"body": "x".repeat(10_001), "public": true}), "body"),
            (json!({"body": "fine"}), "public"),
            (json!({"body": "fine", "public": "yes"}), "public"),
        ] {
            let r = app.post(&comments(&id), &body).await;
            assert_eq!(r.status, 400, "{body}: {:?}", r.body);
            assert_eq!(parameters(&r), [field], "{body}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.invalid.request");
            assert!(r.body["errorMessage"].as_str().unwrap().starts_with(field), "{:?}", r.body);
        }
        assert!(ticket_comments(&app, &id).await.is_empty(), "nothing was written");
        assert_eq!(app.post(&comments(&id), &json!({"body": "x".repeat(10_000), "public": true})).await.status, 201);

        let r = app.post(&comments("FD-999999"), &json!({"body": "hi", "public": true})).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.request.not.found");
        let other = ticket(&app).await;
        let theirs = comment(&app, &other.0, "on the other request", true).await;
        for missing in [format!("{}", number * 10_000 + 9), theirs["id"].as_str().unwrap().to_owned(), "abc".into(), "0".into()] {
            let r = app.get(&format!("{}/{missing}", comments(&id))).await;
            assert_eq!(r.status, 404, "{missing}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.comment.not.found");
        }
        let r = app.send("PUT", &comments(&id), Some(&app.key), None).await;
        assert_eq!(r.status, 405);
        assert_eq!(app.send("GET", &comments(&id), None, None).await.status, 401);
    }
}

/// A request holds at most 1,000 comments, as a support ticket does: past that Jira's own answer to a
/// full issue, 413, in Jira's envelope; the comments written on other routes count too.
#[tokio::test]
async fn a_request_takes_at_most_1000_comments_then_a_413_in_jiras_envelope() {
    let app = TestApp::sqlite().await;
    let (id, _, _) = ticket(&app).await;
    comment(&app, &id, "first", true).await;
    // 998 more written straight to the database (numbered 2..=999), dated before the first.
    let pool = sqlx::SqlitePool::connect(&app.database.url).await.expect("open the database");
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 998) \
         INSERT INTO ticket_activities \
         (id, workspace_id, ticket_id, type, created_by, text, internal, attachments, created_at, comment_number) \
         SELECT randomblob(16), a.workspace_id, a.ticket_id, 'comment', a.created_by, 'filler', FALSE, '[]', \
         a.created_at - n.i, n.i + 1 FROM ticket_activities a, n WHERE a.type = 'comment' AND a.text = 'first'",
    )
    .execute(&pool)
    .await
    .expect("filler comments");
    pool.close().await;

    let thousandth = comment(&app, &id, "the thousandth", false).await;
    assert!(thousandth["id"].as_str().unwrap().ends_with("1000"), "{thousandth}");
    for body in [json!({"body": "one too many", "public": true}), json!({"body": "note", "public": false})] {
        let r = app.post(&comments(&id), &body).await;
        assert_eq!(r.status, 413, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.request.comment.limit");
        assert!(r.body["errorMessage"].as_str().unwrap().contains("1000"), "{:?}", r.body);
    }
    let r = app.tickets("POST", &format!("{TICKETS}/{id}/comments"), Some(&json!({"comment": {"text": "x"}}))).await;
    assert_eq!(r.status, 409, "the support tickets API's own answer: {:?}", r.body);
    let last = app.get(&format!("{}?start=999", comments(&id))).await.body;
    assert_eq!(bodies(&last), ["the thousandth"]);
}
