//! Jira Service Management organizations: external user groups named by number, their customers.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

const ORGS: &str = "/rest/servicedeskapi/organization";

async fn organization(app: &TestApp, name: &str) -> Value {
    let r = app.post(ORGS, &json!({"name": name})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

async fn customer(app: &TestApp, email: &str) -> String {
    let r = app.post("/rest/servicedeskapi/customer", &json!({"displayName": "Some One", "email": email})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["accountId"].as_str().unwrap().to_owned()
}

fn account_ids(page: &Value) -> Vec<String> {
    page["values"].as_array().unwrap().iter().map(|u| u["accountId"].as_str().unwrap().to_owned()).collect()
}

on_both_backends! {
    async fn organizations_are_numbered_per_workspace_and_read_back_as_created(app) {
        let first = organization(&app, "Charlie Cakes").await;
        let second = organization(&app, "Dough Inc").await;
        assert_eq!(first["id"], "1");
        assert_eq!(second["id"], "2");
        assert_eq!(first["name"], "Charlie Cakes");
        assert_eq!(first["_links"]["self"], format!("{}{ORGS}/1", app.base).as_str());
        let again = app.get(&format!("{ORGS}/1")).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body, first);
        // The same record is the external user group of the workspace API.
        let group = app.get(&format!("/api/v1/external-user-groups/{}", first["uuid"].as_str().unwrap())).await;
        assert_eq!(group.status, 200, "{:?}", group.body);
        assert_eq!(group.body["name"], "Charlie Cakes");
    }

    async fn an_external_user_group_is_an_organization_with_the_next_number(app) {
        organization(&app, "Before").await;
        let g = app.post("/api/v1/external-user-groups", &json!({"externalId": "crm-42", "name": "From the CRM"})).await;
        assert_eq!(g.status, 200, "{:?}", g.body);
        let o = app.get(&format!("{ORGS}/2")).await;
        assert_eq!(o.status, 200, "{:?}", o.body);
        assert_eq!(o.body["uuid"], g.body["id"]);
        assert_eq!(o.body["name"], "From the CRM");
    }

    async fn organization_names_follow_the_group_rule_in_jiras_envelope(app) {
        for (body, field) in [(json!({"name": "Al"}), "name"), (json!({}), "name"), (json!({"name": 7}), "name")] {
            let r = app.post(ORGS, &body).await;
            assert_eq!(r.status, 400, "{body}: {:?}", r.body);
            assert!(r.body["errorMessage"].as_str().unwrap().contains(field), "{:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!([field]));
        }
    }

    async fn the_list_pages_with_start_and_limit_and_never_ends_early(app) {
        for name in ["One Org", "Two Org", "Three Org"] {
            organization(&app, name).await;
        }
        let p = app.get(&format!("{ORGS}?start=0&limit=2")).await;
        assert_eq!(p.status, 200, "{:?}", p.body);
        assert_eq!(p.body["size"], 2);
        assert_eq!(p.body["isLastPage"], false);
        assert_eq!(p.body["_links"]["next"], format!("{}{ORGS}?start=2&limit=2", app.base).as_str());
        let last = app.get(&format!("{ORGS}?start=2&limit=2")).await;
        assert_eq!(last.body["size"], 1);
        assert_eq!(last.body["isLastPage"], true);
        assert_eq!(last.body["values"][0]["name"], "Three Org");
        assert!(last.body["_links"].get("next").is_none());
    }

    async fn customers_join_and_leave_an_organization(app) {
        organization(&app, "Charlie Cakes").await;
        let (a, b) = (customer(&app, "a@example.com").await, customer(&app, "b@example.com").await);
        let users = format!("{ORGS}/1/user");
        let r = app.post(&users, &json!({"accountIds": [a, b]})).await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        // Adding again changes nothing and is no error.
        assert_eq!(app.post(&users, &json!({"usernames": [a]})).await.status, 204);
        let page = app.get(&users).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(account_ids(&page.body), vec![a.clone(), b.clone()]);
        assert_eq!(page.body["isLastPage"], true);
        let r = app.send("DELETE", &users, Some(&app.key), Some(&json!({"accountIds": [a]}).to_string())).await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        assert_eq!(account_ids(&app.get(&users).await.body), vec![b.clone()]);
        // Seed 001 shows the membership as the user's group.
        let id = b.rsplit(':').next().unwrap();
        let uuid = format!("{}-{}-{}-{}-{}", &id[..8], &id[8..12], &id[12..16], &id[16..20], &id[20..]);
        let user = app.get(&format!("/api/v1/external-users/{uuid}")).await;
        let org = app.get(&format!("{ORGS}/1")).await;
        assert_eq!(user.body["externalUserGroupId"], org.body["uuid"]);
        // The change is in the event log.
        let events = app.get("/api/v1/events?types=external_user.updated").await;
        assert_eq!(events.status, 200, "{:?}", events.body);
        assert!(events.body.to_string().contains(org.body["uuid"].as_str().unwrap()), "{:?}", events.body);
    }

    async fn a_customer_in_another_organization_is_refused_by_its_index_not_moved(app) {
        organization(&app, "First Org").await;
        organization(&app, "Second Org").await;
        let (a, b) = (customer(&app, "a@example.com").await, customer(&app, "b@example.com").await);
        assert_eq!(app.post(&format!("{ORGS}/1/user"), &json!({"accountIds": [a]})).await.status, 204);
        let r = app.post(&format!("{ORGS}/2/user"), &json!({"accountIds": [b, a]})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["accountIds[1]"]));
        assert!(r.body["errorMessage"].as_str().unwrap().contains("organization 1"), "{:?}", r.body);
        // All or none: b did not join either.
        assert_eq!(account_ids(&app.get(&format!("{ORGS}/2/user")).await.body), Vec::<String>::new());
        assert_eq!(account_ids(&app.get(&format!("{ORGS}/1/user")).await.body), vec![a]);
    }

    async fn unknown_accounts_and_organizations_are_named(app) {
        organization(&app, "Charlie Cakes").await;
        let a = customer(&app, "a@example.com").await;
        let stranger = format!("qm:{}:{}", app.workspace_id, uuid::Uuid::new_v4().simple());
        let r = app.post(&format!("{ORGS}/1/user"), &json!({"accountIds": [a, stranger]})).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["i18nErrorMessage"]["parameters"], json!(["accountIds[1]"]));
        for path in [format!("{ORGS}/9"), format!("{ORGS}/abc"), format!("{ORGS}/0/user")] {
            let r = app.get(&path).await;
            assert_eq!(r.status, 404, "{path}: {:?}", r.body);
            assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.organization.not.found");
        }
        let r = app.post(&format!("{ORGS}/9/user"), &json!({"accountIds": [a]})).await;
        assert_eq!(r.status, 404, "{:?}", r.body);
    }

    async fn deleting_an_organization_keeps_its_customers_and_its_number(app) {
        organization(&app, "Charlie Cakes").await;
        let a = customer(&app, "a@example.com").await;
        app.post(&format!("{ORGS}/1/user"), &json!({"accountIds": [a]})).await;
        let r = app.delete(&format!("{ORGS}/1")).await;
        assert_eq!(r.status, 204, "{:?}", r.body);
        assert_eq!(app.get(&format!("{ORGS}/1")).await.status, 404);
        assert_eq!(app.delete(&format!("{ORGS}/1")).await.status, 404);
        // Numbers are never reused.
        assert_eq!(organization(&app, "Next One").await["id"], "2");
        let desk = app.get(&format!("/rest/servicedeskapi/servicedesk/{}/customer", app.workspace_id)).await;
        assert_eq!(account_ids(&desk.body), vec![a]);
    }

    async fn the_service_desk_has_every_organization(app) {
        organization(&app, "Charlie Cakes").await;
        let path = format!("/rest/servicedeskapi/servicedesk/{}/organization", app.workspace_id);
        let list = app.get(&path).await;
        assert_eq!(list.status, 200, "{:?}", list.body);
        assert_eq!(list.body["values"][0]["id"], "1");
        assert_eq!(app.post(&path, &json!({"organizationId": 1})).await.status, 204);
        let gone = app.send("DELETE", &path, Some(&app.key), Some(&json!({"organizationId": "1"}).to_string())).await;
        assert_eq!(gone.status, 204, "{:?}", gone.body);
        assert_eq!(app.post(&path, &json!({"organizationId": 5})).await.status, 404);
        let bad = app.post(&path, &json!({"organizationId": true})).await;
        assert_eq!(bad.status, 400, "{:?}", bad.body);
        let other = format!("/rest/servicedeskapi/servicedesk/{}/organization", uuid::Uuid::new_v4());
        let r = app.post(&other, &json!({"organizationId": 1})).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body["i18nErrorMessage"]["i18nKey"], "sd.api.error.servicedesk.not.found");
    }

    async fn agents_manage_members_and_only_admins_create_or_delete(app) {
        organization(&app, "Charlie Cakes").await;
        let agent = app.post("/api/v1/api-keys", &json!({"name": "agent", "role": "agent"})).await.body["key"]
            .as_str().unwrap().to_owned();
        let a = customer(&app, "a@example.com").await;
        let create = app.send("POST", ORGS, Some(&agent), Some(&json!({"name": "Nope Org"}).to_string())).await;
        assert_eq!(create.status, 403, "{:?}", create.body);
        assert_eq!(app.send("DELETE", &format!("{ORGS}/1"), Some(&agent), None).await.status, 403);
        let join = json!({"accountIds": [a]}).to_string();
        assert_eq!(app.send("POST", &format!("{ORGS}/1/user"), Some(&agent), Some(&join)).await.status, 204);
        assert_eq!(app.send("GET", ORGS, None, None).await.status, 401);
    }
}
