//! One person, many contracts: a record made through one contract is shown through the others by
//! their rules. An e-mail-channel external user always has a valid address as identifier, a person
//! always has a display name where the contract requires one, and the external users API's 3..50 rule
//! holds for every name it shows (decisions/one-person-many-contracts.md).

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

fn new_user(channel: &str, identifier: Value, name: &str) -> Value {
    json!({
        "channelId": channel, "externalId": null, "identifier": identifier, "name": name,
        "tierId": null, "externalUserGroupId": null
    })
}

/// A phone channel of the workspace.
async fn phone_channel(t: &TestApp) -> String {
    let r = t.post("/api/v1/channels", &json!({"name": "Phone", "type": "phone"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A ticket of the workspace, by id.
async fn ticket(t: &TestApp) -> String {
    let location = t.location("Desk").await;
    let user = t.external_user("requester@example.com", "Requester").await;
    let created = t.open_ticket(&location, user["id"].as_str().unwrap(), "Refund please").await;
    created["ticket"]["id"].as_str().unwrap().to_owned()
}

fn is_address(v: &Value) -> bool {
    v.as_str().is_some_and(|s| frontdesk::domain::EmailAddress::parse(s).is_ok())
}

on_both_backends! {
    async fn the_email_channel_holds_only_valid_addresses_as_identifiers(t) {
        let email = t.email_channel_id.clone();
        for bad in [json!("not an address"), json!("+15551234"), Value::Null] {
            let r = t.post("/api/v1/external-users", &new_user(&email, bad.clone(), "Ann Smith")).await;
            assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
            assert_eq!(r.body["errors"][0]["field"], "identifier", "{:?}", r.body);
        }
        let r = t.post("/api/v1/external-users/authenticate",
            &json!({"channelId": email, "id": null, "externalId": "crm-123", "identifier": null})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);

        let ann = t.external_user("ann@example.com", "Ann Smith").await;
        let path = format!("/api/v1/external-users/{}", ann["id"].as_str().unwrap());
        for bad in [json!("+15551234"), Value::Null] {
            let r = t.patch(&path, &json!({"identifier": bad})).await;
            assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
        }
        assert_eq!(t.get(&path).await.body["identifier"], "ann@example.com");

        // Other channels keep seed 001's free-form identifiers.
        let phone = phone_channel(&t).await;
        let r = t.post("/api/v1/external-users", &new_user(&phone, json!("+15551234"), "Ann Smith")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }

    async fn a_person_added_by_address_has_a_jsm_display_name_and_a_crm_email(t) {
        let ticket = ticket(&t).await;
        let r = t.post(&format!("/v1/crm/tickets/{ticket}/external-users"), &json!({"email": "nameless@example.com"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        assert!(is_address(&r.body["email"]), "{:?}", r.body);

        let page = t.get(&format!("/rest/servicedeskapi/request/{ticket}/participant")).await.body;
        let shown = &page["values"][0];
        assert_eq!(shown["displayName"], "nameless@example.com", "{shown}");
        assert_eq!(shown["emailAddress"], "nameless@example.com");

        let desk = format!("/rest/servicedeskapi/servicedesk/{}/customer?query=nameless", t.workspace_id);
        let listed = t.get(&desk).await.body;
        assert_eq!(listed["values"][0]["displayName"], "nameless@example.com", "{listed}");

        let account = shown["accountId"].as_str().unwrap();
        let user = t.get(&format!("/rest/api/2/user?accountId={account}")).await;
        assert_eq!(user.body["displayName"], "nameless@example.com", "{:?}", user.body);
        assert_eq!(user.body["emailAddress"], "nameless@example.com");
    }

    async fn jsm_names_outside_the_external_users_rule_read_back_and_patch_back_unharmed(t) {
        let long = "L".repeat(200);
        for (name, email, shown) in [
            ("Al", "al@example.com", Value::Null),
            (long.as_str(), "long@example.com", json!("L".repeat(50))),
        ] {
            let r = t.post("/rest/servicedeskapi/customer", &json!({"displayName": name, "email": email})).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            let account = r.body["accountId"].as_str().unwrap().to_owned();
            let id = account.rsplit(':').next().unwrap().to_owned();
            let path = format!("/api/v1/external-users/{}", uuid::Uuid::parse_str(&id).unwrap());

            let got = t.get(&path).await;
            assert_eq!(got.status, 200);
            assert_eq!(got.body["name"], shown, "{name}");
            // A client that GETs the user and PATCHes its fields back changes nothing.
            let back = json!({
                "name": got.body["name"], "identifier": got.body["identifier"],
                "externalId": got.body["externalId"], "tierId": got.body["tierId"],
                "externalUserGroupId": got.body["externalUserGroupId"], "blocked": got.body["blocked"],
            });
            let r = t.patch(&path, &back).await;
            assert_eq!(r.status, 200, "{name}: {:?}", r.body);
            assert_eq!(r.body["name"], shown);
            let jsm = t.get(&format!("/rest/api/2/user?accountId={account}")).await;
            assert_eq!(jsm.body["displayName"], name, "the name JSM was given is kept");

            // A new name through the external users API is held to its rule and then shown as given.
            let r = t.patch(&path, &json!({"name": "Jo"})).await;
            assert_eq!(r.status, 400);
            let r = t.patch(&path, &json!({"name": "Alfred"})).await;
            assert_eq!((r.status, r.body["name"].as_str()), (200, Some("Alfred")));
            let jsm = t.get(&format!("/rest/api/2/user?accountId={account}")).await;
            assert_eq!(jsm.body["displayName"], "Alfred");
        }
    }

    async fn each_contract_validates_addresses_as_its_product_does(t) {
        let looser = ["ivan@example.xn--p1ai", "o'brien!@example.com", "jsmith+support@example.com"];
        for (i, email) in looser.iter().enumerate() {
            let r = t.post("/rest/servicedeskapi/customer", &json!({"displayName": "Ivan", "email": email})).await;
            assert_eq!(r.status, 201, "JSM {email}: {:?}", r.body);
            assert_eq!(r.body["emailAddress"], *email);
            let staff = json!({"Email": format!("staff{i}.{email}"), "WebsiteRole": "Agent"});
            let r = crate::staff_users::raw(&t, "POST", "/api/v1/suser", Some(&t.key), Some("application/json"), Some(staff.to_string())).await;
            assert_eq!(r.status, 200, "users API {email}: {}", r.text);
        }
        // The CRM document's pattern is stricter: no punycode TLD, no `!`.
        let ticket = ticket(&t).await;
        for email in ["ivan@example.xn--p1ai", "o'brien!@example.com"] {
            let r = t.post(&format!("/v1/crm/tickets/{ticket}/external-users"), &json!({"email": email})).await;
            assert_eq!(r.status, 400, "CRM {email}: {:?}", r.body);
        }
        let r = t.post(&format!("/v1/crm/tickets/{ticket}/external-users"), &json!({"email": "jsmith+support@example.com"})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        // A customer JSM accepted is a participant the CRM API shows as stored.
        let page = t.get(&format!("/rest/servicedeskapi/servicedesk/{}/customer?query=xn--p1ai", t.workspace_id)).await;
        let account = page.body["values"][0]["accountId"].as_str().unwrap().to_owned();
        let r = t.post(&format!("/rest/servicedeskapi/request/{ticket}/participant"), &json!({"accountIds": [account]})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let listed = t.get(&format!("/v1/crm/tickets/{ticket}/external-users")).await.body;
        let emails: Vec<&str> = listed.as_array().unwrap().iter().filter_map(|p| p["email"].as_str()).collect();
        assert!(emails.contains(&"ivan@example.xn--p1ai"), "{emails:?}");
    }
}
