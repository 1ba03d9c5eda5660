//! The hand-written CRM v8 layer against the simulator: an EU sandbox org with 5,000 Leads
//! listed through the v8 stream (page numbers, then page tokens after 2,000), resumed from a
//! token, decoded into the caller's own type, counted, queried with COQL, and written.
#![cfg(all(feature = "testkit", feature = "v8-core"))]

use std::collections::HashSet;

use futures_util::StreamExt;
use zohocrm::Zoho;
use zohocrm::client_v8::{PageAt, V8Query};
use zohocrm::coql::{Condition, Coql, Order};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::scopes::Scopes;
use zohocrm::testkit::{Decision, Route, Simulator};

async fn eu_sandbox() -> (Simulator, zohocrm::client_v8::CrmV8Client) {
    let sim = Simulator::start().await.unwrap();
    let zoho = Zoho::for_simulator(&sim).unwrap().build().unwrap();
    let scopes: Vec<&str> = Scopes::FULL_CRM.iter().copied().chain(["ZohoCRM.coql.READ"]).collect();
    let (url, pending) = zoho.authorization_request(zohocrm::testkit::DEFAULT_REDIRECT_URI, scopes).unwrap();
    let back = sim.consent(&url, "eu.user@zylker.example", Environment::Sandbox, Decision::Accept).await.unwrap();
    let token = zoho.complete_authorization("eu-user", &back, &pending).await.unwrap();
    assert_eq!((token.key.dc, token.key.environment), (DataCenter::Eu, Environment::Sandbox));
    (sim, zoho.client_v8(&token.key).await.unwrap())
}

#[derive(serde::Deserialize)]
struct Lead {
    id: String,
    #[serde(rename = "Last_Name")]
    last_name: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_leads_through_page_tokens_and_a_coql_query() {
    let (sim, crm) = eu_sandbox().await;
    let existing = crm.count("Leads").await.unwrap();
    sim.seed_records(DataCenter::Eu, Environment::Sandbox, "Leads", 5_000 - existing as usize).unwrap();
    assert_eq!(crm.count("Leads").await.unwrap(), 5_000);

    sim.clear_requests();
    let mut ids = HashSet::new();
    let mut leads = crm.records_as::<Lead>("Leads", V8Query::fields(["Last_Name", "Company"]));
    while let Some(lead) = leads.next().await {
        let lead = lead.unwrap();
        assert!(lead.last_name.is_some());
        assert!(ids.insert(lead.id), "every lead exactly once");
    }
    assert_eq!(ids.len(), 5_000);
    let listing: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == Route::Records)
        .map(|r| format!("{}?{}", r.path, r.query))
        .collect();
    assert_eq!(listing.len(), 25, "25 pages of 200");
    assert!(listing.iter().any(|p| p.contains("page_token=")), "past 2,000 records Zoho only pages with tokens");
    assert!(listing.iter().all(|p| !p.contains("page=11")), "no page number past the 2,000-record reach");

    // A listing can stop and resume from the token it stopped at.
    let query = V8Query::fields(["Last_Name"]);
    let first = crm.records_page("Leads", &query, &PageAt::Number(1)).await.unwrap();
    let token = first.next_page_token().expect("a token for the next page").to_owned();
    let rest: Vec<_> = crm.records_from("Leads", query, &token).collect().await;
    assert_eq!(rest.len() + first.items.len(), 5_000);

    // COQL: escaped values, typed rows, its own paging.
    let rows = crm
        .coql_as::<Lead>(
            &Coql::select(["Last_Name"])
                .from("Leads")
                .filter(Condition::like("Last_Name", "%a%").and(Condition::is_not_null("Last_Name")))
                .order_by("Last_Name", Order::Asc)
                .limit(50),
        )
        .await
        .unwrap();
    assert!(!rows.is_empty() && rows.len() <= 50);
    assert!(rows.windows(2).all(|w| w[0].last_name <= w[1].last_name), "ordered");
    let none = crm
        .coql(&Coql::select(["Last_Name"]).from("Leads").filter(Condition::eq("Last_Name", "O'Nobody")))
        .await
        .unwrap();
    assert!(none.items.is_empty(), "a quote in a value is escaped, and no match is an empty page");
    let all: Vec<_> = crm.coql_stream(Coql::select(["Last_Name"]).from("Leads").limit(2_000)).collect().await;
    assert_eq!(all.len(), 5_000, "COQL pages with LIMIT/OFFSET through every row");
    assert!(all.iter().all(Result::is_ok));
}

#[tokio::test]
async fn v8_reads_writes_and_typed_errors() {
    let (sim, crm) = eu_sandbox().await;
    let me = crm.current_user().await.unwrap().expect("a current user");
    assert_eq!(me.email.as_deref(), Some("eu.user@zylker.example"));
    assert!(crm.modules().await.unwrap().iter().any(|m| m.api_name.as_deref() == Some("Leads")));
    assert!(!crm.fields("Leads").await.unwrap().is_empty());

    let created = crm
        .insert_records(
            "Leads",
            &[
                serde_json::json!({"Last_Name": "Okafor", "Company": "Zylker"}),
                serde_json::json!({"Company": "No name"}),
            ],
        )
        .await
        .unwrap();
    assert!(created[0].is_success() && !created[1].is_success(), "one result per record (207)");
    let id = created[0].id().unwrap().to_owned();
    let record = crm.record("Leads", &id).await.unwrap().expect("the new lead");
    assert_eq!(record.extra.get("Last_Name").and_then(|v| v.as_str()), Some("Okafor"));
    let refused = crm.insert_records("Leads", &[serde_json::json!({"Company": "No name"})]).await.unwrap();
    assert_eq!(refused[0].code(), "MANDATORY_NOT_FOUND", "all failing: HTTP 400 with per-record results");
    let deleted = crm.delete_records("Leads", &[&id]).await.unwrap();
    assert!(deleted[0].is_success());

    for bad in [V8Query::default(), V8Query::fields(["Last Name"]), V8Query::fields(["A"]).per_page(201)] {
        let err = crm.records_page("Leads", &bad, &PageAt::Number(1)).await.unwrap_err();
        assert!(matches!(err, zohocrm::Error::InvalidInput { .. }), "{err:?}");
    }
    assert!(matches!(crm.record("Leads", "..").await.unwrap_err(), zohocrm::Error::InvalidInput { .. }));
    let err = crm.records_page("Leads", &V8Query::fields(["Last_Name"]), &PageAt::Number(11)).await.unwrap_err();
    assert_eq!(err.zoho_code(), Some("DISCRETE_PAGINATION_LIMIT_EXCEEDED"), "{err:?}");
    assert!(matches!(
        crm.coql(&Coql::select(["x y"]).from("Leads")).await.unwrap_err(),
        zohocrm::Error::InvalidInput { .. }
    ));
    let _ = sim;
}

/// A COQL endpoint that always has more rows: answers each query with as many rows as its
/// `limit` asks (ids from its offset) and `more_records: true`, and keeps every query text.
async fn endless_coql() -> (zohocrm::client_v8::CrmV8Client, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::sync::{Arc, Mutex};
    use zohocrm::store::{MemoryStore, TokenStore};
    use zohocrm::{AccessToken, ClientCredentials, RefreshToken, Token, TokenKey};
    let queries = Arc::new(Mutex::new(Vec::new()));
    let seen = queries.clone();
    let app = axum::Router::new().route(
        "/crm/v8/coql",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                let text = body["select_query"].as_str().unwrap_or_default().to_owned();
                let number = |word: &str| -> u64 {
                    let mut words = text.split_whitespace();
                    words.find(|w| *w == word).and_then(|_| words.next()).and_then(|n| n.parse().ok()).unwrap_or(0)
                };
                let (limit, offset) = (number("limit"), number("offset"));
                seen.lock().unwrap().push(text.clone());
                let data: Vec<_> = (offset..offset + limit).map(|i| serde_json::json!({"id": i.to_string()})).collect();
                axum::Json(serde_json::json!({
                    "data": data,
                    "info": {"count": limit, "more_records": true}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let endpoints =
        zohocrm::dc::Endpoints::zoho().with_api_domain(DataCenter::Us, Environment::Production, &base).unwrap();
    let store = Arc::new(MemoryStore::new());
    let key = TokenKey::new("coql", DataCenter::Us, Environment::Production);
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    store
        .put(&Token {
            key: key.clone(),
            access_token: Some(AccessToken::new("1000.aaaa.bbbb")),
            refresh_token: Some(RefreshToken::new("1000.cccc.dddd")),
            expires_at_ms: now_ms + 3_600_000,
            api_domain: base,
            accounts_server: "https://accounts.zoho.com".into(),
            scopes: vec!["ZohoCRM.coql.READ".into()],
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        })
        .await
        .unwrap();
    let zoho = Zoho::builder(ClientCredentials::new("1000.CLIENT", "secret"))
        .endpoints(endpoints)
        .shared_store(store)
        .build()
        .unwrap();
    (zoho.client_v8(&key).await.unwrap(), queries)
}

/// Zoho's COQL reaches 100,000 rows (`LIMIT` + `OFFSET`): the stream's last call asks only for
/// what is left of it, and when rows remain beyond it the stream ends with a typed error, never
/// silently short.
#[tokio::test]
async fn a_coql_stream_ends_at_zohos_reach_with_an_error_not_silently() {
    let (crm, queries) = endless_coql().await;
    let rows: Vec<_> = crm.coql_stream(Coql::select(["Last_Name"]).from("Leads").offset(97_000)).collect().await;
    let (ok, errors): (Vec<_>, Vec<_>) = rows.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 3_000, "every row up to the reach");
    assert!(matches!(errors.as_slice(), [Err(zohocrm::Error::Pagination { .. })]), "{errors:?}");
    let sent = queries.lock().unwrap().clone();
    assert!(sent[0].ends_with("limit 2000 offset 97000") && sent[1].ends_with("limit 1000 offset 99000"), "{sent:?}");
    assert_eq!(sent.len(), 2);

    // Starting closer than one default call to the reach: one shorter call, not nothing.
    queries.lock().unwrap().clear();
    let rows: Vec<_> = crm.coql_stream(Coql::select(["Last_Name"]).from("Leads").offset(99_500)).collect().await;
    assert_eq!(rows.iter().filter(|r| r.is_ok()).count(), 500);
    assert!(matches!(rows.last(), Some(Err(zohocrm::Error::Pagination { .. }))), "{:?}", rows.last());
    assert_eq!(queries.lock().unwrap().as_slice(), ["select Last_Name from Leads limit 500 offset 99500"]);

    // A query COQL refuses is refused by the stream too, before anything is sent.
    queries.lock().unwrap().clear();
    let rows: Vec<_> =
        crm.coql_stream(Coql::select(["Last_Name"]).from("Leads").offset(99_950).limit(100)).collect().await;
    assert!(matches!(rows.as_slice(), [Err(zohocrm::Error::InvalidInput { .. })]), "{rows:?}");
    assert!(queries.lock().unwrap().is_empty());
}

/// COQL reads with a POST: a 502 (or a timeout) is retried like any read, not only a 429 as
/// for writes (one bad gateway answer ended a whole `coql_stream`).
#[tokio::test]
async fn a_coql_query_is_retried_like_a_read() {
    let (sim, crm) = eu_sandbox().await;
    sim.inject(Route::Coql, zohocrm::testkit::Fault::Status(502), 1);
    let before = sim.count(Route::Coql);
    crm.coql(&Coql::select(["Last_Name"]).from("Leads").limit(5)).await.expect("the 502 is retried");
    assert_eq!(sim.count(Route::Coql) - before, 2, "the 502, then the retry");

    // A query given as text (the CLI's) goes the same way, and says when more rows match.
    sim.inject(Route::Coql, zohocrm::testkit::Fault::Status(502), 1);
    let before = sim.count(Route::Coql);
    let page = crm
        .coql_text::<serde_json::Value>("select Last_Name from Leads where Last_Name is not null limit 2")
        .await
        .expect("the 502 is retried");
    assert_eq!(sim.count(Route::Coql) - before, 2, "the 502, then the retry");
    assert_eq!(page.items.len(), 2);
    assert!(page.more_records(), "the org has more than two leads");
    assert!(matches!(crm.coql_text::<serde_json::Value>(" ").await, Err(zohocrm::Error::InvalidInput { .. })));
}

/// An upsert without duplicate-check fields matches on the module's own (Leads: `Email`), as
/// in v2: the SDK leaves the key out instead of sending an empty list, which asked the
/// simulator (and possibly Zoho) to check nothing and insert a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v8_upsert_without_check_fields_uses_the_modules_own() {
    let (sim, crm) = eu_sandbox().await;
    let lead = serde_json::json!({"Last_Name": "Okafor", "Email": "okafor@zylker.example"});
    let first = crm.upsert_records("Leads", std::slice::from_ref(&lead), &[]).await.unwrap();
    let id = first[0].id().unwrap().to_owned();
    let again = crm.upsert_records("Leads", &[lead], &[]).await.unwrap();
    assert!(again[0].is_success(), "{again:?}");
    assert_eq!(again[0].id(), Some(id.as_str()), "the same lead, updated: {again:?}");
    let _ = sim;
}
