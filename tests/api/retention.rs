//! Outbox retention: old events go once every enabled subscription has them; what stays is one
//! gap-free run of sequences, and a cursor from before it reads on from the oldest kept event.

use std::time::Duration;

use serde_json::json;

use crate::events::all_events;
use crate::helpers::on_both_backends;

fn sequences(events: &[serde_json::Value]) -> Vec<i64> {
    events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect()
}

on_both_backends! {
    async fn old_events_go_and_a_stale_cursor_reads_on_from_the_oldest_kept_event(app) {
        for i in 0..3 {
            app.external_user(&format!("user{i}@example.com"), "Jane").await;
        }
        assert_eq!(sequences(&all_events(&app).await), [1, 2, 3, 4, 5, 6]);

        // A window of zero: everything recorded so far is old; batches of 4 take two rounds.
        assert_eq!(app.app.prune_events(Duration::ZERO, 4).await.unwrap(), 6);
        assert!(all_events(&app).await.is_empty());

        // Sequences are never reused, and both an old cursor and none start at the oldest kept event.
        app.external_user("user9@example.com", "Jane").await;
        assert_eq!(sequences(&all_events(&app).await), [7, 8]);
        let stale = app.get("/api/v1/events?after=ZXY6Mw").await; // "ev:3", deleted
        assert_eq!(stale.status, 200, "{:?}", stale.body);
        assert_eq!(sequences(stale.body["events"].as_array().unwrap()), [7, 8]);
    }

    async fn an_enabled_subscription_holds_back_what_it_has_not_delivered_and_a_disabled_one_does_not(app) {
        // The receiver never answers (the name does not resolve): its deliveries stay pending.
        let r = app.post("/api/v1/webhooks", &json!({"url": "http://receiver.invalid/hook", "types": []})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let hook = r.body["id"].as_str().unwrap().to_owned();
        app.external_user("jane@example.com", "Jane").await;
        let before = all_events(&app).await.len();

        assert_eq!(app.app.prune_events(Duration::ZERO, 100).await.unwrap(), 0);
        assert_eq!(all_events(&app).await.len(), before);

        let r = app.patch(&format!("/api/v1/webhooks/{hook}"), &json!({"enabled": false})).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(app.app.prune_events(Duration::ZERO, 100).await.unwrap() as usize, before + 1);
        assert!(all_events(&app).await.is_empty());
    }

    async fn events_inside_the_window_stay(app) {
        app.external_user("jane@example.com", "Jane").await;
        assert_eq!(app.app.prune_events(Duration::from_secs(3600), 100).await.unwrap(), 0);
        assert_eq!(sequences(&all_events(&app).await), [1, 2]);
    }
}
