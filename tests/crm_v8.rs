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
