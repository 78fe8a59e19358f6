//! The totals of single-filter external user lists (the workspace, one channel, one tier, one group)
//! come from counters kept in the writing transaction: they stay exact through creates, moves between
//! tiers, groups and channels, a tier's deletion, and erasure.

use serde_json::{Value, json};

use crate::helpers::{TestApp, on_both_backends};

async fn made(app: &TestApp, path: &str, body: Value) -> String {
    let r = app.post(path, &body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn user(app: &TestApp, channel: &str, identifier: &str, tier: Option<&str>, group: Option<&str>) -> String {
    let body = json!({"channelId": channel, "externalId": null, "identifier": identifier, "name": null,
                      "tierId": tier, "externalUserGroupId": group});
    made(app, "/api/v1/external-users", body).await
}

/// The exact total of the list with this query, read from a one-row page so that the page itself
/// (which would tell the total when nothing follows it) does not.
async fn total(app: &TestApp, query: &str) -> u64 {
    let r = app.get(&format!("/api/v1/external-users?pageSize=1&{query}")).await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    let exact = r.header("x-total-count").unwrap_or_else(|| panic!("{query}: no exact total"));
    exact.parse().unwrap()
}

/// Everyone, gold, silver, the group, the web channel, the e-mail channel.
async fn totals(app: &TestApp, queries: &[String; 6]) -> [u64; 6] {
    let mut out = [0; 6];
    for (n, query) in out.iter_mut().zip(queries) {
        *n = total(app, query).await;
    }
    out
}

on_both_backends! {
    async fn single_filter_totals_stay_exact_through_creates_moves_deletions_and_erasure(app) {
        let gold = made(&app, "/api/v1/tiers", json!({"name": "Gold", "description": "For tests"})).await;
        let silver = made(&app, "/api/v1/tiers", json!({"name": "Silver", "description": "For tests"})).await;
        let vip = made(&app, "/api/v1/external-user-groups", json!({"externalId": "vip", "name": "VIP", "tierId": null})).await;
        let web = made(&app, "/api/v1/channels", json!({"name": "Web chat", "type": "web"})).await;
        let email = app.email_channel_id.clone();
        let mut gold_users = Vec::new();
        for i in 0..4 {
            gold_users.push(user(&app, &email, &format!("g{i}@example.com"), Some(&gold), Some(&vip)).await);
        }
        let silver_user = user(&app, &web, "s0", Some(&silver), None).await;
        user(&app, &web, "plain", None, None).await;
        let keys = [String::new(), format!("tierIds={gold}"), format!("tierIds={silver}"),
                    format!("externalUserGroupIds={vip}"), format!("channelIds={web}"), format!("channelIds={email}")];
        assert_eq!(totals(&app, &keys).await, [6, 4, 1, 4, 2, 4]);

        // A patch moving a user from gold to silver and out of the group.
        let r = app.patch(&format!("/api/v1/external-users/{}", gold_users[0]),
                          &json!({"tierId": silver, "externalUserGroupId": null})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(totals(&app, &keys).await, [6, 3, 2, 3, 2, 4]);
        // A patch that changes nothing the counters hold leaves them alone.
        let r = app.patch(&format!("/api/v1/external-users/{}", gold_users[1]), &json!({"name": "Renamed"})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(totals(&app, &keys).await, [6, 3, 2, 3, 2, 4]);

        // Erasing one user takes it out of every total.
        assert_eq!(app.delete(&format!("/api/v1/external-users/{}", gold_users[2])).await.status, 200);
        assert_eq!(totals(&app, &keys).await, [5, 2, 2, 2, 2, 3]);
        // Erasing it again changes nothing.
        assert_eq!(app.delete(&format!("/api/v1/external-users/{}", gold_users[2])).await.status, 404);
        assert_eq!(totals(&app, &keys).await, [5, 2, 2, 2, 2, 3]);

        // Deleting a tier clears it from its users (the database's SET NULL), and its total with it.
        assert_eq!(app.delete(&format!("/api/v1/tiers/{silver}")).await.status, 200);
        assert_eq!(totals(&app, &keys).await, [5, 2, 0, 2, 2, 3]);
        let r = app.get(&format!("/api/v1/external-users/{silver_user}")).await;
        assert_eq!(r.body["tierId"], Value::Null);
    }

    async fn combined_filters_and_searches_are_still_counted_exactly_below_the_cap(app) {
        let gold = made(&app, "/api/v1/tiers", json!({"name": "Gold", "description": "For tests"})).await;
        let email = app.email_channel_id.clone();
        for i in 0..3 {
            user(&app, &email, &format!("c{i}@example.com"), Some(&gold), None).await;
        }
        user(&app, &email, "other@example.org", None, None).await;
        assert_eq!(total(&app, &format!("tierIds={gold}&channelIds={email}")).await, 3);
        assert_eq!(total(&app, "search=example.com").await, 3);
        assert_eq!(total(&app, &format!("search=example&tierIds={gold}")).await, 3);
    }
}
