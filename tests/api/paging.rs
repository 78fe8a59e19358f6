//! Paging never claims an end that is not the end: past the count cap (10,000 matches) every list still
//! says truthfully whether more follows.

use frontdesk::domain::{CustomerName, EmailAddress};
use serde_json::Value;

use crate::helpers::{TestApp, on_both_backends};

/// Past `frontdesk::store::COUNT_CAP`, where counting stops.
const MANY: usize = 10_064;

/// `MANY` customers on the e-mail channel, made through the use case (many at once, as the store
/// batches concurrent inserts).
async fn many_customers(t: &TestApp) {
    let who = t.app.api_key_principal(Some(&t.key)).await.expect("principal");
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..MANY {
        let (app, who) = (t.app.clone(), who.clone());
        pending.spawn(async move {
            let name = CustomerName::parse(&format!("Customer {i:05}")).expect("name");
            let email = EmailAddress::parse(&format!("c{i:05}@example.com")).expect("email");
            app.create_customer(&who, name, email).await.expect("customer");
        });
        if pending.len() >= 64 {
            pending.join_next().await.expect("task").expect("joined");
        }
    }
    while let Some(done) = pending.join_next().await {
        done.expect("joined");
    }
}

on_both_backends! {
    async fn jsm_pages_past_the_count_cap_are_not_the_last_page(t) {
        many_customers(&t).await;
        let desk = format!("/rest/servicedeskapi/servicedesk/{}/customer", t.workspace_id);
        let r = t.get(&format!("{desk}?start=9950&limit=50")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["size"], 50);
        assert_eq!(r.body["isLastPage"], false, "{} customers remain after this page", MANY - 10_000);
        let next = r.body["_links"]["next"].as_str().expect("a next link");
        assert!(next.ends_with("?start=10000&limit=50"), "{next}");

        // Following `next` until `isLastPage` reaches every customer.
        let mut seen = 10_000;
        let mut start = 10_000;
        loop {
            let r = t.get(&format!("{desk}?start={start}&limit=50")).await;
            let values = r.body["values"].as_array().expect("values").len();
            seen += values;
            start += 50;
            if r.body["isLastPage"] == Value::Bool(true) {
                assert!(r.body["_links"].get("next").is_none(), "{:?}", r.body["_links"]);
                break;
            }
        }
        assert_eq!(seen, MANY);

        // A page that exactly fills the list is its last page.
        let r = t.get(&format!("{desk}?start={}&limit=64", MANY - 64)).await;
        assert_eq!(r.body["size"], 64);
        assert_eq!(r.body["isLastPage"], true);
    }

    async fn external_user_counts_past_the_cap_say_at_least_as_many_as_are_known(t) {
        many_customers(&t).await;
        // A full page before the cap: the count stops, the headers say so.
        let r = t.get("/api/v1/external-users?pageNumber=1&pageSize=100").await;
        assert_eq!(r.header("x-total-count"), None);
        assert_eq!(r.header("x-total-count-at-least"), Some("10000"));
        // The last page, past the cap, knows the exact total from its own rows.
        let r = t.get("/api/v1/external-users?pageNumber=101&pageSize=100").await;
        assert_eq!(r.body.as_array().map(Vec::len), Some(MANY - 10_000));
        assert_eq!(r.header("x-total-count"), Some(MANY.to_string().as_str()));
        assert_eq!(r.header("x-total-pages"), Some("101"));
        // A full page past the cap: at least everything up to its end and one more.
        let r = t.get("/api/v1/external-users?pageNumber=201&pageSize=50").await;
        assert_eq!(r.header("x-total-count"), None);
        assert_eq!(r.header("x-total-count-at-least"), Some("10051"));
    }
}
