//! The CRM request path against bad input and awkward answers: path parameters that would
//! leave their segment, writes whose records all fail, search criteria and id lists that
//! would change the query's meaning.
#![cfg(feature = "testkit")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{connect, harness, user_in};
use futures_util::StreamExt;
use zohocrm::client::{Criteria, Record, RecordQuery, Search};
use zohocrm::dc::{DataCenter, Endpoints, Environment};
use zohocrm::store::{MemoryStore, TokenStore};
use zohocrm::testkit::{Fault, Route};
use zohocrm::{AccessToken, ClientCredentials, Error, RefreshToken, Token, TokenKey, Zoho};

async fn us_client(h: &common::Harness) -> (zohocrm::CrmClient, Token) {
    let token = connect(h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    (h.zoho.client(&token.key).await.unwrap(), token)
}

fn is_invalid_input(e: &Error) -> bool {
    matches!(e, Error::InvalidInput { .. })
}

/// Values that are not one path segment: each must be refused before anything is sent.
const REJECTED: &[&str] = &[".", "..", "%2e%2e", "%2E", "%2e", ".%2E", "", "%252e"];

/// Values that must arrive as exactly one (percent-encoded) segment.
const ENCODED: &[(&str, &str)] = &[
    ("/", "%2F"),
    (r"\", "%5C"),
    (r"..\Contacts\123", "..%5CContacts%5C123"),
    ("a/../b", "a%2F..%2Fb"),
    ("Lëads", "L%C3%ABads"),
    ("名", "%E5%90%8D"),
    ("a b?c#d%e", "a%20b%3Fc%23d%25e"),
    ("Leads;x=1", "Leads%3Bx%3D1"),
];

fn crm_paths(h: &common::Harness) -> Vec<String> {
    h.sim.requests().into_iter().filter(|r| r.route != Route::Token).map(|r| r.path).collect()
}

fn crm_path(full: &str) -> &str {
    &full[full.find("/crm/v2/").unwrap()..]
}

#[tokio::test]
async fn shortcut_path_parameters_that_leave_their_segment_are_refused_before_sending() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.clear_requests();
    for bad in REJECTED {
        let e = crm.record("Leads", bad).await.unwrap_err();
        assert!(is_invalid_input(&e), "record id {bad:?}: {e:?}");
        assert!(e.to_string().contains("record_id"), "{e}");
        let e = crm.record(bad, "1").await.unwrap_err();
        assert!(is_invalid_input(&e), "module {bad:?}: {e:?}");
        assert!(e.to_string().contains("module"), "{e}");
        let e = crm.records_page(bad, &RecordQuery::default(), 1).await.unwrap_err();
        assert!(is_invalid_input(&e), "module {bad:?}: {e:?}");
        let e = crm.module(bad).await.unwrap_err();
        assert!(is_invalid_input(&e), "module {bad:?}: {e:?}");
        let e = crm.user(bad).await.unwrap_err();
        assert!(is_invalid_input(&e), "user {bad:?}: {e:?}");
        let e = crm.delete_record("Leads", bad).await.unwrap_err();
        assert!(is_invalid_input(&e), "delete {bad:?}: {e:?}");
        let e = crm.insert_records(bad, vec![Record::default()]).await.unwrap_err();
        assert!(is_invalid_input(&e), "insert {bad:?}: {e:?}");
        assert!(!e.may_have_been_sent() && !e.is_retryable());
    }
    assert_eq!(crm_paths(&h), Vec::<String>::new(), "nothing was sent");
    // The message names the value.
    let e = crm.record("Leads", "..").await.unwrap_err();
    assert!(e.to_string().contains("\"..\""), "{e}");
}

#[tokio::test]
async fn shortcut_path_parameters_arrive_as_exactly_one_segment() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    for (value, encoded) in ENCODED {
        h.sim.clear_requests();
        let _ = crm.record("Leads", value).await;
        let _ = crm.record(value, "1").await;
        let paths = crm_paths(&h);
        assert_eq!(paths.len(), 2, "{value:?}: {paths:?}");
        assert_eq!(crm_path(&paths[0]), format!("/crm/v2/Leads/{encoded}"), "{value:?}");
        assert_eq!(crm_path(&paths[1]), format!("/crm/v2/{encoded}/1"), "{value:?}");
    }
}

#[tokio::test]
async fn raw_path_parameters_are_checked_and_encoded_too() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.clear_requests();
    let raw = crm.raw();
    for bad in REJECTED {
        let e = raw.get_record().module("Leads").record_id(*bad).send().await.unwrap_err();
        assert!(e.to_string().contains("record_id"), "{bad:?}: {e}");
        let e = raw.list_records().module(*bad).send().await.unwrap_err();
        assert!(e.to_string().contains("module"), "{bad:?}: {e}");
        let e = raw.get_module().module_api_name(*bad).send().await.unwrap_err();
        assert!(e.to_string().contains("module_api_name"), "{bad:?}: {e}");
        let e = raw.delete_user().user_id(*bad).send().await.unwrap_err();
        assert!(e.to_string().contains("user_id"), "{bad:?}: {e}");
    }
    assert_eq!(crm_paths(&h), Vec::<String>::new(), "nothing was sent");
    for (value, encoded) in ENCODED {
        h.sim.clear_requests();
        let _ = raw.get_record().module("Leads").record_id(*value).send().await;
        let _ = raw.search_records().module(*value).word("x").send().await;
        let paths = crm_paths(&h);
        assert_eq!(paths.len(), 2, "{value:?}: {paths:?}");
        assert_eq!(crm_path(&paths[0]), format!("/crm/v2/Leads/{encoded}"), "{value:?}");
        assert_eq!(crm_path(&paths[1]), format!("/crm/v2/{encoded}/search"), "{value:?}");
    }
}

fn lead(last_name: Option<&str>) -> Record {
    let mut record = Record::default();
    record.extra.insert("Company".into(), "Zylker".into());
    if let Some(name) = last_name {
        record.extra.insert("Last_Name".into(), name.into());
    }
    record
}

#[tokio::test]
async fn a_single_insert_that_fails_returns_its_result_with_zohos_code() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let results = crm.insert_records("Leads", vec![lead(None)]).await.unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].status, "error");
    assert_eq!(results[0].code, "MANDATORY_NOT_FOUND");
    let statuses: Vec<_> = h.sim.requests().iter().filter(|r| r.route == Route::Records).map(|r| r.status).collect();
    assert_eq!(statuses, [400], "Zoho answers 400 when every record fails");
}

#[tokio::test]
async fn a_batch_whose_records_all_fail_returns_every_result() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let results = crm.insert_records("Leads", vec![lead(None), lead(None), lead(None)]).await.unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r.status == "error" && r.code == "MANDATORY_NOT_FOUND"), "{results:?}");
    let results = crm.upsert_records("Leads", vec![lead(None), lead(None)], &["Last_Name"]).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.status == "error"), "{results:?}");
}

#[tokio::test]
async fn a_mixed_batch_returns_207_results_in_order() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let results = crm.insert_records("Leads", vec![lead(Some("Ok")), lead(None)]).await.unwrap();
    assert_eq!((results[0].status.as_str(), results[1].status.as_str()), ("success", "error"));
    assert_eq!(results[1].code, "MANDATORY_NOT_FOUND");
    let statuses: Vec<_> = h.sim.requests().iter().filter(|r| r.route == Route::Records).map(|r| r.status).collect();
    assert_eq!(statuses, [207]);
}

#[tokio::test]
async fn deleting_unknown_ids_returns_their_results() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let results = crm.delete_records("Leads", &["111", "222"]).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r.status == "error" && r.code == "INVALID_DATA"), "{results:?}");
    let one = crm.delete_record("Leads", "333").await.unwrap().unwrap();
    assert_eq!((one.status.as_str(), one.code.as_str()), ("error", "INVALID_DATA"));
}

#[tokio::test]
async fn action_result_helpers_read_status_code_and_id() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let results = crm.insert_records("Leads", vec![lead(Some("Helper")), lead(None)]).await.unwrap();
    assert!(results[0].is_success() && !results[1].is_success());
    assert_eq!((results[0].code(), results[1].code()), ("SUCCESS", "MANDATORY_NOT_FOUND"));
    let id = results[0].id().unwrap().to_owned();
    assert!(crm.record("Leads", &id).await.unwrap().is_some());
    let deleted = crm.delete_records("Leads", &[&id, "999"]).await.unwrap();
    assert_eq!(deleted[0].id(), Some(id.as_str()));
    assert_eq!(deleted[1].id(), Some("999"));
}

#[tokio::test]
async fn decode_errors_keep_the_real_http_status() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    // A gateway's HTML page with 502: not Zoho's envelope, so it cannot be decoded.
    h.sim.inject(Route::Org, Fault::Status(502), 1);
    match crm.org().await.unwrap_err() {
        e @ Error::Decode { status: 502, .. } => assert!(e.is_retryable(), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn criteria_field_names_must_be_api_names() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    for bad in ["", "Last_Name)or(Email", "Last Name", "Last_Name:equals:x", "Name,x", r"A\B", "Lëads"] {
        assert!(is_invalid_input(&Criteria::try_equals(bad, "x").unwrap_err()), "{bad:?}");
        assert!(is_invalid_input(&Criteria::try_starts_with(bad, "x").unwrap_err()), "{bad:?}");
    }
    assert!(Criteria::try_equals("Last_Name", "x)or(y").is_ok(), "values are escaped, not refused");
    assert!(Criteria::try_equals("Owner.id", "1").is_ok());
    h.sim.clear_requests();
    // The infallible constructors keep compiling and fail at send time, even nested.
    let nested = Criteria::equals("Company", "Zylker").and(Criteria::equals("Last_Name)or(Email", "x"));
    let e = crm.search_page("Leads", &Search::Criteria(nested.clone()), 1, 200).await.unwrap_err();
    assert!(is_invalid_input(&e), "{e:?}");
    assert!(e.to_string().contains("Last_Name)or(Email"), "{e}");
    let streamed: Vec<_> = crm.search("Leads", Search::Criteria(nested)).collect().await;
    assert!(matches!(streamed.as_slice(), [Err(Error::InvalidInput { .. })]), "{streamed:?}");
    assert_eq!(crm_paths(&h), Vec::<String>::new(), "nothing was sent");
}

/// Zoho accepts at most 10 conditions in one search criteria: an eleventh is refused before
/// anything is sent, with what to do, instead of Zoho's error after a round trip; ten go.
#[tokio::test]
async fn a_search_with_more_conditions_than_zoho_accepts_is_refused_before_sending() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let emails = |n: usize| {
        (1..n).fold(Criteria::equals("Email", "0@example.com"), |c, i| {
            c.or(Criteria::equals("Email", &format!("{i}@example.com")))
        })
    };
    h.sim.clear_requests();
    let e = crm.search_page("Leads", &Search::Criteria(emails(11)), 1, 200).await.unwrap_err();
    assert!(is_invalid_input(&e) && e.to_string().contains("at most 10"), "{e}");
    assert_eq!(crm_paths(&h), Vec::<String>::new(), "nothing was sent");
    crm.search_page("Leads", &Search::Criteria(emails(10)), 1, 200).await.expect("ten conditions are accepted");
}

#[tokio::test]
async fn delete_records_refuses_ids_that_would_split_or_vanish() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.clear_requests();
    for ids in [&["1,2"][..], &["1", ""], &["1", "2,"]] {
        let e = crm.delete_records("Leads", ids).await.unwrap_err();
        assert!(is_invalid_input(&e), "{ids:?}: {e:?}");
        assert!(e.to_string().contains("ids"), "{e}");
    }
    assert_eq!(crm_paths(&h), Vec::<String>::new(), "nothing was sent");
}

#[tokio::test]
async fn send_gives_raw_calls_the_typed_errors_of_the_shortcuts() {
    let h = harness().await;
    let (crm, token) = us_client(&h).await;
    h.sim.clear_requests();
    // A path parameter that leaves its segment: typed, nothing sent.
    let e =
        crm.send(|c| async move { c.get_record().module("Leads").record_id(r"..").send().await }).await.unwrap_err();
    assert!(matches!(&e, Error::InvalidInput { parameter, .. } if parameter == "record_id"), "{e:?}");
    let e = crm.send(|c| async move { c.list_records().send().await }).await.unwrap_err();
    assert!(matches!(&e, Error::InvalidInput { parameter, .. } if parameter == "module"), "{e:?}");
    assert_eq!(crm_paths(&h), Vec::<String>::new(), "nothing was sent");
    // 204 is `None`; Zoho's envelope is `Api` naming the operation.
    let none =
        crm.send(|c| async move {
            c.search_records().module("Leads").criteria("(Last_Name:equals:nobody-here)").send().await
        })
        .await
        .unwrap();
    assert!(none.is_none());
    let e = crm.send(|c| async move { c.list_records().module("NoSuchModule").send().await }).await.unwrap_err();
    assert!(
        matches!(&e, Error::Api { operation, code, .. } if operation == "list_records" && code == "INVALID_MODULE"),
        "{e:?}"
    );
    // A write whose records all fail: the results.
    let body = zohocrm::crm::types::RecordsWrite {
        data: vec![lead(None)],
        trigger: Vec::new(),
        duplicate_check_fields: Vec::new(),
        extra: Default::default(),
    };
    let written =
        crm.send(|c| async move { c.insert_records().module("Leads").body(body).send().await }).await.unwrap().unwrap();
    assert_eq!(written.data[0].code(), "MANDATORY_NOT_FOUND");
    // A refresh that cannot happen: ReauthorizationRequired, typed.
    assert!(h.sim.revoke_refresh_token_out_of_band(token.refresh_token.as_ref().unwrap()));
    h.sim.advance(Duration::from_secs(3600));
    let e = crm.send(|c| async move { c.get_org().send().await }).await.unwrap_err();
    assert!(matches!(e, Error::ReauthorizationRequired { .. }), "{e:?}");
}

/// A CRM API on loopback that answers every listing with `more_records: true`; `page_ids`
/// gives the ids of a page. Returns a client of a connection whose api_domain is that server,
/// and the number of requests it answered.
async fn endless_server(page_ids: fn(u32) -> Vec<String>) -> (zohocrm::CrmClient, Arc<AtomicU32>) {
    use axum::extract::Query;
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/crm/v2/Leads",
        axum::routing::get(move |Query(q): Query<std::collections::HashMap<String, String>>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let page: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let data: Vec<_> = page_ids(page).into_iter().map(|id| serde_json::json!({"id": id})).collect();
                axum::Json(serde_json::json!({
                    "data": data,
                    "info": {"page": page, "per_page": 200, "count": data.len(), "more_records": true}
                }))
            }
        }),
    );
    (loopback_client(app).await, hits)
}

/// A connection whose api_domain is `app`, served on loopback (a valid token, nothing to
/// refresh).
async fn loopback_client(app: axum::Router) -> zohocrm::CrmClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoints = Endpoints::zoho().with_api_domain(DataCenter::Us, Environment::Production, &base).unwrap();
    let store = Arc::new(MemoryStore::new());
    let key = TokenKey::new("pager", DataCenter::Us, Environment::Production);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let token = Token {
        key: key.clone(),
        access_token: Some(AccessToken::new("1000.aaaa.bbbb")),
        refresh_token: Some(RefreshToken::new("1000.cccc.dddd")),
        expires_at_ms: now_ms + 3_600_000,
        api_domain: base.clone(),
        accounts_server: "https://accounts.zoho.com".into(),
        scopes: vec!["ZohoCRM.modules.ALL".into()],
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    store.put(&token).await.unwrap();
    let zoho = Zoho::builder(ClientCredentials::new("1000.CLIENT", "secret"))
        .endpoints(endpoints)
        .shared_store(store)
        .build()
        .unwrap();
    zoho.client(&key).await.unwrap()
}

/// What the loopback v8 API answers for a page: its ids, whether there are more, the next
/// page token.
#[cfg(feature = "v8-core")]
type V8Answer = (Vec<String>, bool, Option<String>);

/// A v8 records API on loopback: `answer(page number, page token)` says what that page holds.
/// Returns the v8 client and its hit count.
#[cfg(feature = "v8-core")]
async fn v8_server(
    answer: fn(Option<u32>, Option<String>) -> V8Answer,
) -> (zohocrm::client_v8::CrmV8Client, Arc<AtomicU32>) {
    use axum::extract::Query;
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/crm/v8/Leads",
        axum::routing::get(move |Query(q): Query<std::collections::HashMap<String, String>>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let page = q.get("page").and_then(|p| p.parse().ok());
                let (ids, more, token) = answer(page, q.get("page_token").cloned());
                let data: Vec<_> = ids.into_iter().map(|id| serde_json::json!({"id": id})).collect();
                axum::Json(serde_json::json!({
                    "data": data,
                    "info": {"per_page": 200, "count": data.len(), "more_records": more, "next_page_token": token}
                }))
            }
        }),
    );
    (zohocrm::client_v8::CrmV8Client::from(loopback_client(app).await), hits)
}

/// A v8 listing that has to stop (page numbers exhausted and no page token, or a page token
/// sent twice) still yields the records of the page that told it so, then the typed error.
#[cfg(feature = "v8-core")]
#[tokio::test]
async fn a_v8_listing_yields_the_last_page_before_its_pagination_error() {
    use zohocrm::client_v8::V8Query;
    // Page numbers 1..=10 (2,000 records' reach at 200 a page), each "more", never a token.
    let (v8, hits) = v8_server(|page, _| {
        let n = page.unwrap_or(0);
        (vec![format!("{n}a"), format!("{n}b")], true, None)
    })
    .await;
    let items: Vec<_> = v8.records("Leads", V8Query::fields(["Last_Name"])).collect().await;
    assert_eq!(items.len(), 21, "ten pages of two, then the error: {items:?}");
    assert!(items[..20].iter().all(Result::is_ok), "{items:?}");
    assert!(matches!(&items[20], Err(Error::Pagination { page: 10, .. })), "{:?}", items[20]);
    assert_eq!(hits.load(Ordering::SeqCst), 10);

    // Page 1 points at token t, and the page at t points at t again.
    let (v8, _) = v8_server(|_, token| match token {
        None => (vec!["1".into()], true, Some("t".into())),
        Some(_) => (vec!["2".into()], true, Some("t".into())),
    })
    .await;
    let items: Vec<_> = v8.records("Leads", V8Query::fields(["Last_Name"])).collect().await;
    assert_eq!(items.len(), 3, "both pages, then the error: {items:?}");
    assert!(matches!(&items[2], Err(Error::Pagination { page: 2, .. })), "{:?}", items[2]);
}

/// A v8 listing whose server always has "more" (a new page token each time) stops at the
/// client's page cap, like the v2 listings, instead of running forever.
#[cfg(feature = "v8-core")]
#[tokio::test]
async fn a_v8_listing_that_never_ends_stops_at_the_page_cap() {
    use zohocrm::client_v8::V8Query;
    let (v8, hits) = v8_server(|_, token| {
        let n: u32 = token.as_deref().and_then(|t| t.strip_prefix('t')).and_then(|n| n.parse().ok()).unwrap_or(0);
        (vec![format!("{n}a"), format!("{n}b")], true, Some(format!("t{}", n + 1)))
    })
    .await;
    let v8 = v8.with_max_pages(3);
    let items: Vec<_> = v8.records("Leads", V8Query::fields(["Last_Name"])).collect().await;
    assert_eq!(items.len(), 7, "three pages of two, then the error: {items:?}");
    assert!(matches!(&items[6], Err(Error::Pagination { page: 4, .. })), "{:?}", items[6]);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "no request past the cap");

    // A page that repeats the previous one's records stops it too.
    let (v8, _) = v8_server(|_, token| {
        let n: u32 = token.as_deref().and_then(|t| t.strip_prefix('t')).and_then(|n| n.parse().ok()).unwrap_or(0);
        (vec!["same".into()], true, Some(format!("t{}", n + 1)))
    })
    .await;
    let items: Vec<_> = v8.records("Leads", V8Query::fields(["Last_Name"])).collect().await;
    assert_eq!(items.len(), 2, "the first page, then the error: {items:?}");
    assert!(matches!(&items[1], Err(Error::Pagination { page: 2, .. })), "{:?}", items[1]);
}

#[tokio::test]
async fn a_listing_that_repeats_its_page_stops_with_a_typed_error() {
    let (crm, hits) = endless_server(|_| vec!["1".into(), "2".into()]).await;
    let items: Vec<_> = crm.records("Leads", RecordQuery::default()).collect().await;
    assert_eq!(items.len(), 3, "two records, then the error: {items:?}");
    assert!(items[..2].iter().all(Result::is_ok));
    match &items[2] {
        Err(Error::Pagination { operation, page: 2, .. }) => assert_eq!(operation, "list_records"),
        other => panic!("{other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_listing_that_never_ends_stops_at_the_page_cap() {
    assert_eq!(zohocrm::client::MAX_PAGES, 10_000);
    let (crm, hits) = endless_server(|page| vec![format!("{page}a"), format!("{page}b")]).await;
    assert_eq!(crm.max_pages(), zohocrm::client::MAX_PAGES);
    let crm = crm.with_max_pages(3);
    let items: Vec<_> = crm.records("Leads", RecordQuery::default()).collect().await;
    assert_eq!(items.len(), 7, "three pages of two, then the error");
    assert!(items[..6].iter().all(Result::is_ok));
    assert!(matches!(&items[6], Err(Error::Pagination { page: 4, .. })), "{:?}", items[6]);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "no request past the cap");
}

#[tokio::test]
async fn a_listing_fetches_the_next_page_only_when_its_items_are_wanted() {
    let (crm, hits) = endless_server(|page| vec![format!("{page}a"), format!("{page}b")]).await;
    let mut stream = crm.records("Leads", RecordQuery::default());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing is sent before the stream is polled");
    let first: Vec<_> = stream.by_ref().take(2).map(|r| r.unwrap().id.unwrap()).collect().await;
    assert_eq!(first, ["1a", "1b"]);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the first page's items come from one request");
    let third = stream.next().await.unwrap().unwrap();
    assert_eq!(third.id.as_deref(), Some("2a"));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

/// Input that makes a URL longer than HTTP allows (65,534 bytes) cannot be sent: it is bad
/// input, refused before anything leaves, and never retried.
#[tokio::test]
async fn input_too_long_for_a_url_is_refused_not_retried() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.clear_requests();
    let long = "1".repeat(70_000);
    let e = crm.record("Leads", &long).await.unwrap_err();
    assert!(is_invalid_input(&e), "{e:?}");
    assert!(!e.may_have_been_sent(), "nothing left the process: {e:?}");
    assert!(!e.is_retryable(), "{e:?}");
    assert!(!e.to_string().contains(&long[..64]), "the input is not echoed back whole: {e}");
    let search = crm.search_page("Leads", &Search::Word(long.clone()), 1, 10).await.unwrap_err();
    assert!(is_invalid_input(&search) && !search.may_have_been_sent(), "{search:?}");
    assert!(crm_paths(&h).is_empty(), "nothing reached the simulator");
}

/// A read answered HTTP 400 with a `data` array is an error, not a write whose records all
/// failed: only a write's 400 carries one result per record. The error carries Zoho's code
/// from the first item.
#[tokio::test]
async fn a_read_answered_400_with_a_data_array_is_an_error() {
    let failed = || {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({
                "data": [{"code": "INVALID_QUERY", "details": {"api_name": "Email"}, "message": "invalid query formed", "status": "error"}]
            })),
        )
    };
    let app = axum::Router::new().route(
        "/crm/v2/Leads/search",
        axum::routing::get(move || async move { failed() }).post(move || async move { failed() }),
    );
    let crm = loopback_client(app).await;
    let read = crm.request(http::Method::GET, "/crm/v2/Leads/search?email=a@example.com", None).await;
    match read {
        Err(Error::Api { status: 400, code, message, .. }) => {
            assert_eq!(code, "INVALID_QUERY");
            assert_eq!(message, "invalid query formed");
        }
        other => panic!("a GET answered 400 must be an error: {other:?}"),
    }
    // A write's 400 with one result per record stays an answer to read record by record.
    let write = crm
        .request(http::Method::POST, "/crm/v2/Leads/search", Some(&serde_json::json!({"data": [{}]})))
        .await
        .expect("a write whose records all failed is an answer");
    assert_eq!(write.status, 400);
}

/// `count()` reads Zoho's `count`; an answer without one is a decode error with the answer's
/// status, not a silent 0.
#[cfg(feature = "v8-core")]
#[tokio::test]
async fn a_v8_count_without_a_count_is_a_decode_error() {
    let app = axum::Router::new()
        .route(
            "/crm/v8/Leads/actions/count",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"count": 42})) }),
        )
        .route(
            "/crm/v8/Deals/actions/count",
            axum::routing::get(|| async { axum::Json(serde_json::json!({"count": "7"})) }),
        )
        .route(
            "/crm/v8/Tasks/actions/count",
            axum::routing::get(|| async {
                (axum::http::StatusCode::ACCEPTED, axum::Json(serde_json::json!({"info": {}})))
            }),
        )
        .route("/crm/v8/Calls/actions/count", axum::routing::get(|| async { axum::http::StatusCode::NO_CONTENT }));
    let v8 = zohocrm::client_v8::CrmV8Client::from(loopback_client(app).await);
    assert_eq!(v8.count("Leads").await.unwrap(), 42);
    assert_eq!(v8.count("Deals").await.unwrap(), 7);
    assert_eq!(v8.count("Calls").await.unwrap(), 0, "204: nothing to count");
    match v8.count("Tasks").await {
        Err(Error::Decode { status: 202, operation, reason, .. }) => {
            assert_eq!(operation, "record_count");
            assert!(reason.contains("count"), "{reason}");
        }
        other => panic!("an answer without a count must be a decode error: {other:?}"),
    }
}

/// The v8 `*_as` calls decode Zoho's JSON straight into the caller's type: a real record's
/// `"Tag": []` and `null` members arrive as Zoho sent them (a detour through the generated
/// record type dropped them, so a type without `#[serde(default)]` on `Tag` failed on every
/// untagged record).
#[cfg(feature = "v8-core")]
#[tokio::test]
async fn v8_records_decode_into_your_type_with_every_key_zoho_sent() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code, reason = "read through Debug")]
    struct Lead {
        id: String,
        #[serde(rename = "Tag")]
        tags: Vec<serde_json::Value>,
        #[serde(rename = "Lead_Source")]
        source: Option<String>,
        #[serde(rename = "Created_By")]
        created_by: serde_json::Value,
    }
    let page: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/zoho_v8/records_leads_search.json")).unwrap();
    let mut record = page["data"][0].clone();
    record["Created_By"] = serde_json::Value::Null;
    let id = record["id"].as_str().unwrap().to_owned();
    let body =
        serde_json::json!({"data": [record], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": false}});
    let (listing, coql) = (body.clone(), body.clone());
    let app = axum::Router::new()
        .route("/crm/v8/Leads", axum::routing::get(move || async move { axum::Json(listing) }))
        .route(&format!("/crm/v8/Leads/{id}"), axum::routing::get(move || async move { axum::Json(body) }))
        .route("/crm/v8/coql", axum::routing::post(move || async move { axum::Json(coql) }));
    let v8 = zohocrm::client_v8::CrmV8Client::from(loopback_client(app).await);
    let query = zohocrm::client_v8::V8Query::fields(["Last_Name", "Tag"]);

    let listed: Vec<Lead> = v8.records_as::<Lead>("Leads", query.clone()).map(Result::unwrap).collect().await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].tags.is_empty() && listed[0].source.is_none() && listed[0].created_by.is_null());
    let one: Lead = v8.record_as("Leads", &id).await.unwrap().expect("the record");
    assert_eq!(one.id, id);
    let page = v8.records_page_as::<Lead>("Leads", &query, &zohocrm::client_v8::PageAt::Number(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let rows: Vec<Lead> =
        v8.coql_as(&zohocrm::coql::Coql::select(["Last_Name", "Tag"]).from("Leads").limit(10)).await.unwrap();
    assert_eq!(rows.len(), 1);
    // The generated type keeps working for those who want it.
    assert_eq!(v8.record("Leads", &id).await.unwrap().unwrap().id.as_deref(), Some(id.as_str()));
}

/// A COQL stream moves on by the rows Zoho returned, not the rows it asked for: a call that
/// returns fewer than its `LIMIT` while saying there are more must not skip the rows between.
#[cfg(feature = "v8-core")]
#[tokio::test]
async fn a_coql_stream_continues_after_the_rows_it_got() {
    use zohocrm::coql::Coql;
    let offsets = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = offsets.clone();
    let app = axum::Router::new().route(
        "/crm/v8/coql",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                let query = body["select_query"].as_str().unwrap_or_default().to_lowercase();
                let offset: u32 = query.split(" offset ").nth(1).and_then(|s| s.trim().parse().ok()).unwrap_or(0);
                seen.lock().unwrap().push(offset);
                // 150 rows and "more" first, then the last 10.
                let (rows, more) = if offset == 0 { (150, true) } else { (10, false) };
                let data: Vec<_> = (offset..offset + rows)
                    .map(|n| serde_json::json!({"id": n.to_string(), "Last_Name": "X"}))
                    .collect();
                axum::Json(serde_json::json!({"data": data, "info": {"count": rows, "more_records": more}}))
            }
        }),
    );
    let v8 = zohocrm::client_v8::CrmV8Client::from(loopback_client(app).await);
    let rows: Vec<_> = v8.coql_stream(Coql::select(["Last_Name"]).from("Leads").limit(200)).collect().await;
    let ids: Vec<String> = rows.into_iter().map(|r| r.unwrap().id.unwrap()).collect();
    assert_eq!(*offsets.lock().unwrap(), [0, 150], "the second call's OFFSET");
    assert_eq!(ids.len(), 160);
    assert_eq!(ids.last().map(String::as_str), Some("159"));
}
