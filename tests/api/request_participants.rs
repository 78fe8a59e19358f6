//! Seed 004: request participants through the service desk contract, and how they are the same people
//! as seed 000's ticket external users, seed 001's external users and seed 002's ticket readers.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, on_both_backends};

const TICKETS: &str = "/support/tickets/v1";

/// A ticket of the app's workspace: (id, number).
async fn ticket(app: &TestApp) -> (String, i64) {
    let location = app.location("Desk").await;
    let email = format!("requester-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = app.external_user(&email, "Requester").await;
    let created = app.open_ticket(&location, user["id"].as_str().unwrap(), "Refund please").await;
    (created["ticket"]["id"].as_str().unwrap().to_owned(), created["ticket"]["number"].as_i64().unwrap())
}

fn path(issue: &str) -> String {
    format!("/rest/servicedeskapi/request/{issue}/participant")
}

/// Creates a customer through JSM and returns its account id.
async fn customer(app: &TestApp, name: &str, email: &str) -> String {
    let r = app.post("/rest/servicedeskapi/customer", &json!({"displayName": name, "email": email})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["accountId"].as_str().unwrap().to_owned()
}

async fn participants(app: &TestApp, issue: &str) -> Reply {
    app.get(&path(issue)).await
}

async fn add(app: &TestApp, issue: &str, body: &Value) -> Reply {
    app.post(&path(issue), body).await
}

async fn remove(app: &TestApp, issue: &str, body: &Value) -> Reply {
    app.send("DELETE", &path(issue), Some(&app.key), Some(&body.to_string())).await
}

fn accounts(page: &Value) -> Vec<String> {
    page["values"].as_array().unwrap().iter().map(|u| u["accountId"].as_str().unwrap().to_owned()).collect()
}

fn parameters(r: &Reply) -> Vec<String> {
    r.body["i18nErrorMessage"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

/// The account id of an external user of `workspace` with this id.
fn account_of(workspace: &str, user_id: &str) -> String {
    format!("qm:{workspace}:{}", user_id.replace('-', ""))
}

on_both_backends! {
    async fn participants_are_added_idempotently_listed_and_removed(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let wilma = customer(&app, "Wilma Flint", "wilma@example.com").await;

        let r = participants(&app, &t).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["size"], 0);
        assert_eq!(r.body["isLastPage"], true);

        let r = add(&app, &t, &json!({"accountIds": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(accounts(&r.body), [fred.as_str()]);
        let u = &r.body["values"][0];
        assert_eq!(u["emailAddress"], "fred@example.com");
        assert_eq!(u["displayName"], "Fred F. User");
        assert_eq!(u["name"], fred.as_str());
        assert_eq!(u["key"], fred.as_str());
        assert_eq!(u["active"], true);
        assert_eq!(u["_links"]["self"], format!("{}/rest/api/2/user?username={fred}", app.base).as_str());
        assert_eq!(r.body["_expands"], json!([]));
        assert_eq!(r.body["start"], 0);
        assert_eq!(r.body["limit"], 50);
        assert_eq!(r.body["_links"]["base"], format!("{}/rest/servicedeskapi", app.base).as_str());

        // Adding Fred again (even twice in one body) is no error and adds nobody.
        let r = add(&app, &t, &json!({"accountIds": [fred, wilma, fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(accounts(&r.body), [fred.as_str(), wilma.as_str()]);
        assert_eq!(r.body["size"], 2);

        let r = participants(&app, &t).await;
        assert_eq!(accounts(&r.body), [fred.as_str(), wilma.as_str()]);

        let r = remove(&app, &t, &json!({"accountIds": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(accounts(&r.body), [wilma.as_str()]);
        // Removing someone who is no participant changes nothing.
        let r = remove(&app, &t, &json!({"accountIds": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(accounts(&r.body), [wilma.as_str()]);
    }

    async fn requests_are_named_by_id_number_or_key(app) {
        let (t, number) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let r = add(&app, &number.to_string(), &json!({"accountIds": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        for issue in [t.clone(), number.to_string(), format!("FD-{number}"), format!("fd-{number}")] {
            let r = participants(&app, &issue).await;
            assert_eq!(r.status, 200, "{issue}: {:?}", r.body);
            assert_eq!(accounts(&r.body), [fred.as_str()], "{issue}");
        }
    }

    async fn legacy_usernames_are_account_ids(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let r = add(&app, &t, &json!({"usernames": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(accounts(&r.body), [fred.as_str()]);
        let r = remove(&app, &t, &json!({"usernames": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["size"], 0);
        let r = add(&app, &t, &json!({"accountIds": [fred], "usernames": [fred]})).await;
        assert_eq!(r.status, 400);
        assert_eq!(parameters(&r), ["usernames"]);
    }

    async fn an_empty_list_beside_the_other_key_is_left_out_as_atlassian_python_api_sends_it(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let r = add(&app, &t, &json!({"usernames": [], "accountIds": [fred]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(accounts(&r.body), [fred.as_str()]);
        let r = remove(&app, &t, &json!({"usernames": [fred], "accountIds": []})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["size"], 0);
        let r = add(&app, &t, &json!({"usernames": [], "accountIds": []})).await;
        assert_eq!(r.status, 400);
        assert_eq!(parameters(&r), ["accountIds"]);
    }

    async fn paging_follows_start_and_limit_with_links(app) {
        let (t, _) = ticket(&app).await;
        let mut all = Vec::new();
        for name in ["Anna Alpha", "Bert Beta", "Cleo Gamma"] {
            let email = format!("{}@example.com", name.split(' ').next().unwrap().to_lowercase());
            all.push(customer(&app, name, &email).await);
        }
        assert_eq!(add(&app, &t, &json!({"accountIds": all})).await.status, 200);
        let here = format!("{}{}", app.base, path(&t));

        let first = app.get(&format!("{}?start=0&limit=1", path(&t))).await;
        assert_eq!(first.status, 200, "{:?}", first.body);
        assert_eq!((first.body["size"].as_i64(), first.body["start"].as_i64(), first.body["limit"].as_i64()), (Some(1), Some(0), Some(1)));
        assert_eq!(first.body["isLastPage"], false);
        assert_eq!(accounts(&first.body), [all[0].as_str()]);
        assert_eq!(first.body["_links"]["next"], format!("{here}?start=1&limit=1").as_str());
        assert!(first.body["_links"].get("prev").is_none());

        let middle = app.get(&format!("{}?start=1&limit=1", path(&t))).await;
        assert_eq!(accounts(&middle.body), [all[1].as_str()]);
        assert_eq!(middle.body["_links"]["next"], format!("{here}?start=2&limit=1").as_str());
        assert_eq!(middle.body["_links"]["prev"], format!("{here}?start=0&limit=1").as_str());

        let last = app.get(&format!("{}?start=1&limit=2", path(&t))).await;
        assert_eq!(accounts(&last.body), [all[1].as_str(), all[2].as_str()]);
        assert_eq!(last.body["isLastPage"], true);
        assert!(last.body["_links"].get("next").is_none());

        let beyond = app.get(&format!("{}?start=5", path(&t))).await;
        assert_eq!(beyond.body["size"], 0);
        assert_eq!(beyond.body["isLastPage"], true);

        for bad in ["start=-1", "limit=0", "limit=abc"] {
            let r = app.get(&format!("{}?{bad}", path(&t))).await;
            assert_eq!(r.status, 400, "{bad}");
            assert!(r.body["errorMessage"].is_string());
        }
        // Above the maximum is capped, as JSM does, and the page says so.
        let capped = app.get(&format!("{}?limit=1000", path(&t))).await;
        assert_eq!(capped.status, 200, "{:?}", capped.body);
        assert_eq!(capped.body["limit"], 100);
    }

    async fn an_unknown_request_is_404_in_the_jsm_envelope(app) {
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let body = json!({"accountIds": [fred]});
        for issue in [uuid::Uuid::new_v4().to_string(), "999".into(), "FD-999".into(), "ABC-1".into(), "nonsense".into()] {
            let r = participants(&app, &issue).await;
            assert_eq!(r.status, 404, "{issue}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.request.not.found");
            assert!(r.body["errorMessage"].as_str().unwrap().contains("request"));
            assert_eq!(add(&app, &issue, &body).await.status, 404, "{issue}");
            assert_eq!(remove(&app, &issue, &body).await.status, 404, "{issue}");
        }
    }

    async fn unknown_accounts_are_400_naming_each_entry_and_change_nothing(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let nobody = account_of(&app.workspace_id, &uuid::Uuid::new_v4().to_string());
        let r = add(&app, &t, &json!({"accountIds": [fred, nobody, "garbage", 12]})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.invalid.request");
        assert_eq!(parameters(&r), ["accountIds[3]"]);
        let r = add(&app, &t, &json!({"accountIds": [fred, nobody, "garbage"]})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(parameters(&r), ["accountIds[1]", "accountIds[2]"]);
        assert!(r.body["errorMessage"].as_str().unwrap().contains("accountIds[1]"));
        // All or nothing: Fred was not added.
        assert_eq!(participants(&app, &t).await.body["size"], 0);
        assert_eq!(remove(&app, &t, &json!({"accountIds": [nobody]})).await.status, 400);

        for (body, field) in [
            (json!({}), "accountIds"),
            (json!({"accountIds": []}), "accountIds"),
            (json!({"accountIds": "x"}), "accountIds"),
            (json!({"usernames": []}), "usernames"),
        ] {
            let r = add(&app, &t, &body).await;
            assert_eq!(r.status, 400, "{body}");
            assert_eq!(parameters(&r), [field], "{body}");
        }
        let many: Vec<String> = (0..101).map(|_| fred.clone()).collect();
        assert_eq!(parameters(&add(&app, &t, &json!({"accountIds": many})).await), ["accountIds"]);
        let r = app.send("POST", &path(&t), Some(&app.key), Some("not json")).await;
        assert_eq!(r.status, 400);
        assert_eq!(parameters(&r), ["body"]);
    }

    async fn only_customers_of_the_e_mail_channel_can_be_added(app) {
        let (t, _) = ticket(&app).await;
        let channel = app.post("/api/v1/channels", &json!({"name": "Phone line", "type": "phone"})).await;
        assert!(channel.status == 200 || channel.status == 201, "{:?}", channel.body);
        let r = app.post("/api/v1/external-users", &json!({
            "channelId": channel.body["id"], "externalId": null, "identifier": "chatter", "name": "Chatter",
            "tierId": null, "externalUserGroupId": null
        })).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let chatter = account_of(&app.workspace_id, r.body["id"].as_str().unwrap());
        let r = add(&app, &t, &json!({"accountIds": [chatter]})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(parameters(&r), ["accountIds[0]"]);
    }

    async fn workspaces_see_neither_each_others_requests_nor_customers(app) {
        let (t, number) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let (other_ws, other_key, _) = app.other_workspace().await;
        let as_other = |method: &'static str, issue: String, body: Option<Value>| {
            let app = &app;
            let key = other_key.clone();
            async move { app.send(method, &path(&issue), Some(&key), body.map(|b| b.to_string()).as_deref()).await }
        };
        for issue in [t.clone(), number.to_string()] {
            assert_eq!(as_other("GET", issue.clone(), None).await.status, 404, "{issue}");
            assert_eq!(as_other("POST", issue.clone(), Some(json!({"accountIds": [fred]}))).await.status, 404);
        }
        // The other workspace's customer is no account here.
        let r = app.send("POST", "/rest/servicedeskapi/customer", Some(&other_key),
            Some(&json!({"displayName": "Barney Rubble", "email": "barney@example.com"}).to_string())).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let barney = r.body["accountId"].as_str().unwrap().to_owned();
        assert!(barney.starts_with(&format!("qm:{other_ws}:")));
        let r = add(&app, &t, &json!({"accountIds": [barney]})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(parameters(&r), ["accountIds[0]"]);
        // Even with this workspace's prefix, the other workspace's user id names nobody here.
        let forged = format!("qm:{}:{}", app.workspace_id, barney.rsplit(':').next().unwrap());
        assert_eq!(add(&app, &t, &json!({"accountIds": [forged]})).await.status, 400);
        assert_eq!(participants(&app, &t).await.body["size"], 0);
    }

    async fn agent_keys_manage_participants_and_missing_keys_are_401(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let agent = app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body["key"]
            .as_str().unwrap().to_owned();
        let body = json!({"accountIds": [fred]}).to_string();
        let r = app.send("POST", &path(&t), Some(&format!("Bearer {agent}")), Some(&body)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let r = app.send("GET", &path(&t), Some(&format!("Bearer {agent}")), None).await;
        assert_eq!(accounts(&r.body), [fred.as_str()]);
        let r = app.send("DELETE", &path(&t), Some(&format!("Bearer {agent}")), Some(&body)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["size"], 0);

        let r = app.send("GET", &path(&t), None, None).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.unauthorized");
        assert_eq!(app.send("POST", &path(&t), Some("Bearer nope"), Some(&body)).await.status, 401);
        assert_eq!(app.send("DELETE", &path(&t), None, Some(&body)).await.status, 401);
    }

    async fn a_jsm_customer_is_an_external_user_and_its_participation_is_seed_000s(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        // Seed 001 lists the customer on the e-mail channel.
        let users = app.get(&format!("/api/v1/external-users?channelIds={}&search=fred", app.email_channel_id)).await.body;
        assert_eq!(users.as_array().unwrap().len(), 1, "{users:?}");
        assert_eq!(users[0]["identifier"], "fred@example.com");
        assert_eq!(users[0]["name"], "Fred F. User");
        assert_eq!(account_of(&app.workspace_id, users[0]["id"].as_str().unwrap()), fred);

        // Added through JSM, it is a seed 000 ticket external user with its e-mail.
        assert_eq!(add(&app, &t, &json!({"accountIds": [fred]})).await.status, 200);
        let crm = app.get(&format!("/v1/crm/tickets/{t}/external-users")).await;
        assert_eq!(crm.status, 200, "{:?}", crm.body);
        assert_eq!(crm.body.as_array().unwrap().len(), 1);
        assert_eq!(crm.body[0]["email"], "fred@example.com");
        assert_eq!(crm.body[0]["ticketId"], t.as_str());
        // Seed 000 keeps its own rule: adding the same person there is a conflict.
        let r = app.post(&format!("/v1/crm/tickets/{t}/external-users"), &json!({"email": "FRED@example.com"})).await;
        assert_eq!(r.status, 409, "{:?}", r.body);

        // Removed through seed 000, it is gone from JSM too.
        let id = crm.body[0]["id"].as_str().unwrap();
        assert_eq!(app.delete(&format!("/v1/crm/tickets/{t}/external-users/{id}")).await.status, 204);
        assert_eq!(participants(&app, &t).await.body["size"], 0);
    }

    async fn a_seed_000_participant_is_a_jsm_participant_and_customer(app) {
        let (t, _) = ticket(&app).await;
        let r = app.post(&format!("/v1/crm/tickets/{t}/external-users"), &json!({"email": "jsmith@example.com"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let users = app.get("/api/v1/external-users?search=jsmith").await.body;
        let account = account_of(&app.workspace_id, users[0]["id"].as_str().unwrap());

        let page = participants(&app, &t).await.body;
        assert_eq!(accounts(&page), [account.as_str()]);
        assert_eq!(page["values"][0]["emailAddress"], "jsmith@example.com");
        let customers = app.get(&format!("/rest/servicedeskapi/servicedesk/{}/customer?query=jsmith", app.workspace_id)).await;
        assert_eq!(customers.status, 200, "{:?}", customers.body);
        assert_eq!(accounts(&customers.body), [account.as_str()]);
        let one = app.get(&format!("/rest/api/2/user?accountId={account}")).await;
        assert_eq!(one.status, 200, "{:?}", one.body);

        // Removed through JSM, it is gone from seed 000 too.
        let r = remove(&app, &t, &json!({"accountIds": [account]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let crm = app.get(&format!("/v1/crm/tickets/{t}/external-users")).await.body;
        assert_eq!(crm, json!([]));
    }

    async fn blocking_the_external_user_makes_the_participant_inactive(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        assert_eq!(add(&app, &t, &json!({"accountIds": [fred]})).await.status, 200);
        let user_id = app.get("/api/v1/external-users?search=fred").await.body[0]["id"].as_str().unwrap().to_owned();
        let r = app.patch(&format!("/api/v1/external-users/{user_id}"), &json!({"blocked": true})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let page = participants(&app, &t).await.body;
        assert_eq!(page["values"][0]["accountId"], fred.as_str());
        assert_eq!(page["values"][0]["active"], false);
    }

    async fn a_participant_reads_the_ticket_with_its_access_token_only_while_participating(app) {
        let (t, _) = ticket(&app).await;
        let fred = customer(&app, "Fred F. User", "fred@example.com").await;
        let (_, token) = app.access_token("fred@example.com").await;
        let auth = format!("Bearer {token}");
        let one = format!("{TICKETS}/{t}");
        let read = || app.send_network("GET", &one, &auth, Some(&app.workspace_id), None);
        assert_eq!(read().await.status, 404);

        assert_eq!(add(&app, &t, &json!({"accountIds": [fred]})).await.status, 200);
        let r = read().await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["ticket"]["id"], t.as_str());

        assert_eq!(remove(&app, &t, &json!({"accountIds": [fred]})).await.status, 200);
        assert_eq!(read().await.status, 404);
    }
}
