//! The agent console over plain HTTP: finding people, a person's page (edit, block, merge), the
//! ticket list and a ticket's page (notes, replies, status, assignee, type, participants), roles,
//! CSRF and the security headers.

use frontdesk::app::{CommentInput, NewExternalUser, NewTicketInput, ParticipantRef, Principal};
use frontdesk::domain::{DisplayName, EmailAddress, Identifier, LocationName, Role, TicketText};
use uuid::Uuid;

use crate::helpers::{TestApp, on_both_backends};
use crate::web::{Browser, PASSWORD, staff_user};

const PEOPLE: &str = "/settings/console/people";
const TICKETS: &str = "/settings/console/tickets";

fn operator(t: &TestApp) -> Principal {
    Principal::Operator { workspace_id: t.workspace_id.parse().expect("workspace id") }
}

/// An external user on the e-mail channel, made through the use case; returns its id.
async fn person(t: &TestApp, email: &str, name: &str) -> Uuid {
    let new = NewExternalUser {
        channel_id: t.email_channel_id.parse().expect("channel id"),
        external_id: None,
        identifier: Some(Identifier::parse(email).expect("identifier")),
        name: Some(DisplayName::parse(name).expect("name")),
        tier_id: None,
        external_user_group_id: None,
        time_zone: None,
    };
    t.app.create_external_user(&operator(t), new).await.expect("external user").id
}

/// A ticket requested by `requester`; returns its id.
async fn ticket(t: &TestApp, requester: Uuid, text: &str) -> Uuid {
    let who = operator(t);
    let location = t.app.create_location(&who, LocationName::parse("Front office").expect("name")).await.expect("loc");
    let input = NewTicketInput {
        location_id: location.id,
        text: TicketText::parse(text).expect("text"),
        kind: None,
        requester_id: Some(requester),
        assignee_id: None,
    };
    t.app.create_ticket(&who, input).await.expect("ticket").ticket.id
}

async fn agent(t: &TestApp) -> Browser {
    staff_user(t, "agent@example.com", Role::Agent).await;
    let mut b = Browser::new(t);
    assert_eq!(b.sign_in("agent@example.com", PASSWORD).await.status, 303);
    b
}

/// Posts a console form with the page's CSRF token; `page` is where the form is.
async fn submit(b: &mut Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> crate::web::Page {
    let csrf = b.get(page).await.csrf();
    let mut all = vec![("csrf_token", csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(action, &all, &[]).await
}

on_both_backends! {
    async fn an_agent_lands_in_the_console_and_sees_no_settings_link(t) {
        let mut b = agent(&t).await;
        assert_eq!(b.get("/settings").await.location.as_deref(), Some(PEOPLE));
        let page = b.get(PEOPLE).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<h1>People</h1>"));
        assert!(!page.body.contains("href=\"/settings/api-keys\""), "agents see no settings link");
        staff_user(&t, "admin@example.com", Role::Admin).await;
        let mut admin = Browser::new(&t);
        admin.sign_in("admin@example.com", PASSWORD).await;
        assert!(admin.get(PEOPLE).await.body.contains("href=\"/settings/api-keys\">Settings"));
    }

    async fn console_pages_need_a_session_and_forms_need_the_csrf_token(t) {
        let mut anonymous = Browser::new(&t);
        for path in [PEOPLE, TICKETS] {
            assert_eq!(anonymous.get(path).await.location.as_deref(), Some("/settings/sign-in"), "{path}");
        }
        let id = person(&t, "kim@example.com", "Kim Lee").await;
        let mut b = agent(&t).await;
        let without = b.post(&format!("{PEOPLE}/{id}/block"), &[("blocked", "true")], &[]).await;
        assert_eq!(without.status, 403);
        let page = b.get(&format!("{PEOPLE}/{id}")).await;
        assert!(page.body.contains("Active"), "not blocked by the refused form");
    }

    async fn a_person_is_found_among_many_by_a_fragment_of_the_e_mail(t) {
        for i in 0..120 {
            person(&t, &format!("customer{i:03}@example.com"), &format!("Customer {i}")).await;
        }
        let target = person(&t, "zoe.quartermaine@example.org", "Zoe Q").await;
        let mut b = agent(&t).await;
        let all = b.get(PEOPLE).await;
        assert!(all.body.contains("121 people") && all.body.contains("rel=\"next\""), "paged: {}", all.body.len());
        let found = b.get(&format!("{PEOPLE}?q=quarterm")).await;
        assert_eq!(found.status, 200);
        assert!(found.body.contains("1 person"));
        assert!(found.body.contains(&format!("href=\"{PEOPLE}/{target}\">Zoe Q")));
        assert!(!found.body.contains("customer001"));
        assert!(found.body.contains("data-search"), "the search field is the one / focuses");
        let page = b.get(&format!("{PEOPLE}/{target}")).await;
        assert!(page.body.contains("zoe.quartermaine@example.org") && page.body.contains("Identities across channels"));
    }

    async fn a_person_is_edited_with_the_api_rules_and_blocked(t) {
        let id = person(&t, "kim@example.com", "Kim Lee").await;
        let mut b = agent(&t).await;
        let href = format!("{PEOPLE}/{id}");
        let short = submit(&mut b, &href, &href, &[("name", "Ki"), ("tier", ""), ("group", "")]).await;
        assert_eq!(short.status, 422);
        assert!(short.body.contains("id=\"person-name-error\""), "the error is next to the field");
        assert!(short.body.contains("aria-invalid=\"true\""));
        let saved = submit(&mut b, &href, &href, &[("name", "Kim Lee-Park"), ("tier", ""), ("group", "")]).await;
        assert_eq!(saved.status, 303);
        assert!(b.get(&href).await.body.contains("<h1>Kim Lee-Park"));
        let blocked = submit(&mut b, &href, &format!("{href}/block"), &[("blocked", "true")]).await;
        assert_eq!(blocked.status, 303);
        let page = b.get(&href).await;
        assert!(page.body.contains("Blocked") && page.body.contains(">Unblock<"));
        let user = t.get(&format!("/api/v1/external-users/{id}")).await;
        assert_eq!(user.body["blocked"], true, "the same record the API shows");
    }

    async fn two_people_are_merged_and_the_survivor_holds_both_identities(t) {
        let ann = person(&t, "ann@work.example", "Ann Work").await;
        let home = person(&t, "ann@home.example", "Ann Home").await;
        let absorbed_si = t.get(&format!("/api/v1/external-users/{ann}")).await.body["superIdentityId"]
            .as_str().expect("super identity").to_owned();
        let mut b = agent(&t).await;
        let href = format!("{PEOPLE}/{ann}");
        let nobody = submit(&mut b, &href, &format!("{href}/merge"), &[("other", "nobody@nowhere.example"), ("survivor", "other")]).await;
        assert_eq!(nobody.status, 422);
        assert!(nobody.body.contains("id=\"merge-other-error\"") && nobody.body.contains("matches no one"));
        let merged = submit(&mut b, &href, &format!("{href}/merge"), &[("other", "ANN@home.example"), ("survivor", "other")]).await;
        assert_eq!(merged.status, 303, "{}", merged.body);
        let to = merged.location.expect("redirect");
        assert!(to.starts_with(&format!("{PEOPLE}/{home}?done=merged")), "{to}");
        let survivor = b.get(&to).await;
        assert!(survivor.body.contains("ann@work.example") && survivor.body.contains("ann@home.example"));
        assert!(survivor.body.contains("Merged: everyone of super identity"));
        let gone = b.get(&format!("{PEOPLE}/{absorbed_si}")).await;
        assert_eq!(gone.status, 200);
        assert!(gone.body.contains("This person was merged"), "{}", gone.body);
        let survivor_si = t.get(&format!("/api/v1/external-users/{home}")).await.body["superIdentityId"]
            .as_str().expect("super identity").to_owned();
        assert!(gone.body.contains(&format!("merged into <code>{survivor_si}</code>")), "{}", gone.body);
        assert!(gone.body.contains(&format!("{PEOPLE}/{ann}")) || gone.body.contains(&format!("{PEOPLE}/{home}")));
    }

    async fn an_agent_answers_a_ticket_with_a_note_and_a_reply_and_changes_its_status(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "The printer on floor 3 is on fire").await;
        let mut b = agent(&t).await;
        let list = b.get(TICKETS).await;
        assert!(list.body.contains(&format!("href=\"{TICKETS}/{id}\">#1")) && list.body.contains("The printer on floor 3"));
        let href = format!("{TICKETS}/{id}");
        let page = b.get(&href).await;
        assert!(page.body.contains("Ticket #1") && page.body.contains("opened the ticket"));
        let note = submit(&mut b, &href, &format!("{href}/comment"), &[("text", "Facilities called."), ("visibility", "internal")]).await;
        assert_eq!(note.status, 303);
        let reply = submit(&mut b, &href, &format!("{href}/comment"), &[("text", "We are on it."), ("visibility", "public")]).await;
        assert_eq!(reply.status, 303);
        let blank = submit(&mut b, &href, &format!("{href}/comment"), &[("text", "  "), ("visibility", "public")]).await;
        assert_eq!(blank.status, 422);
        assert!(blank.body.contains("id=\"comment-text-error\""));
        let moved = submit(&mut b, &href, &format!("{href}/status"), &[("status", "inProgress")]).await;
        assert_eq!(moved.status, 303);
        let typed = submit(&mut b, &href, &format!("{href}/type"), &[("type", "hardware")]).await;
        assert_eq!(typed.status, 303);
        let page = b.get(&href).await;
        assert!(page.body.contains("added an internal note") && page.body.contains("Facilities called."));
        assert!(page.body.contains("replied") && page.body.contains("We are on it."));
        assert!(page.body.contains("changed the status from <strong>New</strong> to <strong>In progress</strong>"));
        assert!(page.body.contains("set the type to <strong>hardware</strong>"));
        assert!(page.body.contains("agent@example.com"), "who did it");
        let in_progress = b.get(&format!("{TICKETS}?status=inProgress")).await;
        assert!(in_progress.body.contains(&format!("{TICKETS}/{id}")));
        assert!(!b.get(&format!("{TICKETS}?status=new")).await.body.contains(&format!("{TICKETS}/{id}")));
        // The requester sees the reply and not the note: the same ticket the APIs show.
        let requester = Principal::ExternalUser { user_id: kim, workspace_id: t.workspace_id.parse().expect("id") };
        let seen = t.app.get_ticket(&requester, id, None, 50).await.expect("ticket");
        let texts: Vec<_> = seen.activities.iter().filter_map(|a| a.text.as_deref()).collect();
        assert!(texts.contains(&"We are on it.") && !texts.contains(&"Facilities called."), "{texts:?}");
    }

    async fn a_long_timeline_shows_its_newest_25_with_a_link_to_the_older_ones(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Opening words").await;
        for n in 1..=25 {
            let comment = CommentInput { text: TicketText::parse(&format!("reply number {n}.")).expect("text"), internal: false, attachments: Vec::new() };
            t.app.comment_on_ticket(&operator(&t), id, comment).await.expect("comment");
        }
        let mut b = agent(&t).await;
        let href = format!("{TICKETS}/{id}");
        let page = b.get(&href).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("reply number 25.") && page.body.contains("reply number 1."));
        assert!(!page.body.contains("Opening words"), "the 26th newest is on the older page");
        let start = page.body.find(&format!("href=\"{href}?before=")).expect("an older link") + 6;
        let link = &page.body[start..start + page.body[start..].find('"').unwrap()];
        let older = b.get(&link.replace("&amp;", "&")).await;
        assert_eq!(older.status, 200);
        assert!(older.body.contains("Opening words") && !older.body.contains("reply number 1."));
        assert!(older.body.contains("Newest activities") && !older.body.contains("?before="));
    }

    async fn participants_are_added_and_removed_by_e_mail(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Access to the archive").await;
        let mut b = agent(&t).await;
        let href = format!("{TICKETS}/{id}");
        let bad = submit(&mut b, &href, &format!("{href}/participants"), &[("email", "not an address")]).await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("id=\"participant-email-error\""));
        let added = submit(&mut b, &href, &format!("{href}/participants"), &[("email", "boss@example.com")]).await;
        assert_eq!(added.status, 303);
        let page = b.get(&href).await;
        assert!(page.body.contains("boss@example.com"));
        let boss = "boss@example.com</a> as a participant";
        assert!(page.body.contains(&format!("<strong>agent@example.com</strong> added <a href=\"{PEOPLE}/")) && page.body.contains(boss), "the timeline says who added whom");
        let twice = submit(&mut b, &href, &format!("{href}/participants"), &[("email", "Boss@example.com")]).await;
        assert_eq!(twice.status, 422, "the same person twice");
        let at = page.body.find("name=\"participant\" value=\"").expect("remove form") + "name=\"participant\" value=\"".len();
        let participant = page.body[at..at + 36].to_owned();
        let removed = submit(&mut b, &href, &format!("{href}/participants/remove"), &[("participant", &participant)]).await;
        assert_eq!(removed.status, 303);
        let page = b.get(&href).await;
        assert!(!page.body.contains("name=\"participant\" value="), "no participant is left");
        assert!(page.body.contains("boss@example.com</a> from the participants"), "the timeline keeps that they were");
        // The console's changes are events like any contract's, naming the agent; the refused ones are not.
        let events = t.get("/api/v1/events?types=ticket.participant_added,ticket.participant_removed").await.body;
        let events = events["events"].as_array().expect("events");
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().expect("type")).collect();
        assert_eq!(kinds, ["ticket.participant_added", "ticket.participant_removed"]);
        assert!(events.iter().all(|e| e["actor"]["type"] == "staff_user" && e["data"]["email"] == "boss@example.com"));
    }

    async fn the_ticket_list_has_the_support_tickets_apis_four_orders(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let mut ids = Vec::new();
        for text in ["First words", "Second words", "Third words"] {
            ids.push(ticket(&t, kim, text).await);
        }
        let note = CommentInput { text: TicketText::parse("Still broken.").expect("text"), internal: false, attachments: Vec::new() };
        t.app.comment_on_ticket(&operator(&t), ids[0], note).await.expect("comment");
        let mut b = agent(&t).await;
        let order_of = |body: &str| {
            let mut at: Vec<(usize, usize)> =
                ids.iter().enumerate().map(|(n, id)| (body.find(&format!("href=\"{TICKETS}/{id}\"")).expect("listed"), n)).collect();
            at.sort();
            at.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
        };
        let latest = b.get(TICKETS).await.body;
        assert_eq!(order_of(&latest), [0, 2, 1], "what changed last first, by default");
        assert!(latest.contains("<h2 id=\"tickets-title\">Latest activity first</h2>"));
        for (order, expected, heading) in [
            ("createDate:asc", [0, 1, 2], "Oldest first"),
            ("createDate:desc", [2, 1, 0], "Newest first"),
            ("updateDate:asc", [1, 2, 0], "Longest without activity first"),
        ] {
            let page = b.get(&format!("{TICKETS}?order={}", order.replace(':', "%3A"))).await.body;
            assert_eq!(order_of(&page), expected, "{order}");
            assert!(page.contains(&format!(">{heading}</h2>")) && page.contains(&format!("value=\"{order}\" selected")), "{order}");
            assert!(page.contains(&format!("order={}", order.replace(':', "%3A"))), "the status tabs keep the order: {order}");
        }
        assert_eq!(order_of(&b.get(&format!("{TICKETS}?order=nonsense")).await.body), [0, 2, 1], "an unknown order is the default");
    }

    async fn a_ticket_with_many_participants_lists_them_a_page_at_a_time(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "Everyone wants to know").await;
        let emails: Vec<String> = (0..30).map(|i| format!("watcher{i:02}@example.com")).collect();
        for e in &emails {
            let who = ParticipantRef::Email(EmailAddress::parse(e).expect("address"));
            t.app.add_participant(&operator(&t), id, who).await.expect("participant");
        }
        let mut b = agent(&t).await;
        let href = format!("{TICKETS}/{id}");
        let first = b.get(&href).await;
        // Those in the participants' card (the timeline names them too, as it says who added them).
        let listed = |body: &str| {
            let card = &body[body.find("id=\"participants-list\"").expect("the card")..body.find("Add participant").expect("the form")];
            emails.iter().filter(|e| card.contains(&format!(">{e}</a>"))).cloned().collect::<Vec<_>>()
        };
        assert_eq!(listed(&first.body), emails[..25], "the first 25, in the order they were added");
        assert!(!first.body.contains("First participants"));
        let start = first.body.find(&format!("href=\"{href}?participants=")).expect("a link to more") + 6;
        let link = first.body[start..start + first.body[start..].find('"').unwrap()].replace("&amp;", "&");
        let second = b.get(&link).await;
        assert_eq!(second.status, 200);
        assert_eq!(listed(&second.body), emails[25..], "the rest");
        assert!(second.body.contains("First participants") && !second.body.contains("More participants"));
        assert!(second.body.contains("watcher29@example.com</a> as a participant"), "the timeline's newest stay in view");
        // A link made for the timeline names no participant's position: the list starts at the top.
        let forged = format!("{href}?participants=a1{}", "31,00000000-0000-0000-0000-000000000000".bytes().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(listed(&b.get(&forged).await.body), emails[..25]);
    }

    async fn the_participants_of_an_unknown_ticket_are_not_found(t) {
        let found = t.app.participants_page(&operator(&t), Uuid::new_v4(), None, 10).await;
        assert!(matches!(found, Err(frontdesk::app::AppError::NotFound(frontdesk::app::Entity::Ticket))), "{found:?}");
        let mut b = agent(&t).await;
        assert_eq!(b.get(&format!("{TICKETS}/{}", Uuid::new_v4())).await.status, 404);
    }

    async fn a_team_larger_than_the_assignee_list_is_also_reached_by_address(t) {
        let kim = person(&t, "kim@example.com", "Kim Lee").await;
        let id = ticket(&t, kim, "The badge reader is dead").await;
        let mut b = agent(&t).await;
        let href = format!("{TICKETS}/{id}");
        assert!(!b.get(&href).await.body.contains("assignee_email"), "a small team is listed whole");
        let members: Vec<String> = (0..100).map(|i| format!("member{i:03}@example.com")).collect();
        for m in &members {
            staff_user(&t, m, Role::Agent).await;
        }
        // The agent joined first, so the list holds it and 99 of the 100 others.
        let page = b.get(&href).await;
        let unlisted: Vec<&String> = members.iter().filter(|m| !page.body.contains(&format!(">{m}</option>"))).collect();
        assert_eq!(unlisted.len(), 1, "one member is left out of the list");
        assert!(page.body.contains("id=\"ticket-assignee_email\""), "the address field is offered");
        let unknown = submit(&mut b, &href, &format!("{href}/assignee"), &[("assignee", ""), ("assignee_email", "nobody@example.com")]).await;
        assert_eq!(unknown.status, 422);
        assert!(unknown.body.contains("id=\"ticket-assignee_email-error\""));
        let upper = unlisted[0].to_uppercase();
        let assigned = submit(&mut b, &href, &format!("{href}/assignee"), &[("assignee", ""), ("assignee_email", &upper)]).await;
        assert_eq!(assigned.status, 303);
        let page = b.get(&href).await;
        assert!(page.body.contains(&format!("assigned the ticket to <strong>{}</strong>", unlisted[0])));
        assert!(page.body.contains(&format!(" selected>{}</option>", unlisted[0])), "the assignee is a choice even when not listed");
        let theirs = b.get(&format!("{TICKETS}?assignee_email={}", unlisted[0])).await;
        assert!(theirs.body.contains(&href), "the list filters by the address");
        let nobody = b.get(&format!("{TICKETS}?assignee_email=nobody%40example.com")).await;
        assert!(!nobody.body.contains(&href) && nobody.body.contains("id=\"tickets-assignee_email-error\""));
    }

    async fn console_pages_send_the_security_headers(t) {
        let b = agent(&t).await;
        drop(b);
        let res = reqwest::get(format!("{}{PEOPLE}", t.base)).await.expect("get");
        assert!(res.headers().get("content-security-policy").is_some());
        assert_eq!(res.headers().get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"));
    }
}
