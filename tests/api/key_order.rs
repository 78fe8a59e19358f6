//! JSON keys come out in the order each product documents them, as its own servers send them; clients
//! that compare bodies or read them as streams see the product's order.

use serde_json::json;

use crate::helpers::{TestApp, exchange, on_both_backends};

/// The object keys of `text` in the order written, at every depth (`"k":` occurrences).
fn keys_in_order(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let word = &after[..end];
        rest = &after[end + 1..];
        if rest.starts_with(':') {
            keys.push(word.to_owned());
        }
    }
    keys
}

/// Whether `wanted` appears in `keys` in this order (other keys may come between).
fn in_order(keys: &[String], wanted: &[&str]) -> bool {
    let mut at = 0;
    for w in wanted {
        match keys[at..].iter().position(|k| k == w) {
            Some(i) => at += i + 1,
            None => return false,
        }
    }
    true
}

async fn raw_post(t: &TestApp, path: &str, body: &serde_json::Value) -> String {
    let req = t.client.post(format!("{}{path}", t.base)).header("authorization", &t.key).json(body);
    exchange(req).await.expect("request").text
}

on_both_backends! {
    async fn a_jsm_customer_comes_in_the_order_jsm_documents(t) {
        let text = raw_post(&t, "/rest/servicedeskapi/customer", &json!({"displayName": "Fred F. User", "email": "fred@example.com"})).await;
        let keys = keys_in_order(&text);
        let documented = ["accountId", "name", "key", "emailAddress", "displayName", "active", "timeZone", "_links",
                          "jiraRest", "avatarUrls", "16x16", "24x24", "32x32", "48x48", "self"];
        assert_eq!(keys, documented, "{text}");
    }

    async fn a_support_ticket_comes_in_the_order_the_product_documents(t) {
        let location = t.location("Desk").await;
        let user = t.external_user("jane@example.com", "Jane").await;
        let body = json!({"ticket": {"locationRef": location, "text": "Printer jam", "userRefRequester": user["id"]}});
        let req = t.client.post(format!("{}/support/tickets/v1", t.base)).header("authorization", format!("Bearer {}", t.key)).json(&body);
        let text = exchange(req).await.expect("request").text;
        let keys = keys_in_order(&text);
        assert!(in_order(&keys, &["activities", "createDate", "id", "ticketRef", "data", "attachments", "membershipAssignee",
                                  "previousAttributes", "text", "lemAI", "membership", "ticket"]), "{text}");
        let ticket = &keys[keys.iter().rposition(|k| k == "ticket").unwrap()..];
        assert!(in_order(ticket, &["createDate", "description", "id", "locationRef", "number", "updateDate",
                                   "membershipAssignee", "membershipRefAssignee", "membershipRefRequester",
                                   "membershipRequester", "statusUpdateDate", "userAssignee", "userRequester"]), "{text}");
    }

    async fn a_users_api_success_carries_no_response_status_and_keeps_the_documented_order(t) {
        let req = t.client.post(format!("{}/api/v1/suser", t.base)).header("authorization", &t.key)
            .header("content-type", "application/json").body(json!({"Email": "ann@example.com"}).to_string());
        let answer = exchange(req).await.expect("request");
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(keys_in_order(&answer.text), ["User", "Id", "Status"], "{}", answer.text);
        let req = t.client.post(format!("{}/api/v1/suser", t.base)).header("authorization", &t.key)
            .body("<User><Email>bob@example.com</Email></User>");
        let answer = exchange(req).await.expect("request");
        assert!(!answer.text.contains("ResponseStatus"), "{}", answer.text);
        assert!(answer.text.contains("<UserResponse><User><Id>"), "{}", answer.text);
    }
}
