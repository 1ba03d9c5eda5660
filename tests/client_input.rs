//! The CRM request path against bad input and awkward answers: path parameters that would
//! leave their segment, writes whose records all fail, search criteria and id lists that
//! would change the query's meaning.
#![cfg(feature = "testkit")]

mod common;

use common::{connect, harness, user_in};
use zohocrm::client::{Record, RecordQuery};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::Route;
use zohocrm::{Error, Token};

async fn us_client(h: &common::Harness) -> (zohocrm::CrmClient, Token) {
    let token = connect(h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    (h.zoho.client(&token.key).await.unwrap(), token)
}

fn is_invalid_input(e: &Error) -> bool {
    format!("{e:?}").starts_with("InvalidInput")
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
