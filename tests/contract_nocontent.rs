//! `zohocrm::nocontent` against the real generated client and a loopback server answering
//! 204, 304, 200, 202, 401 and 500.

mod support;

use support::capture::{Canned, CaptureServer};
use zohocrm::crm::Error;
use zohocrm::nocontent::{Empty, NoContent, Outcome};

const SINCE: &str = "2019-07-25T15:26:49+05:30";

/// Answers by module name: `/crm/v2/<Module>[/...]`.
async fn server() -> CaptureServer {
    let leads =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zoho/records_leads_search.json"))
            .expect("fixture");
    let invalid_token =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zoho/error_invalid_token.json"))
            .expect("fixture");
    CaptureServer::start(move |request| match request.path().split('/').nth(3).unwrap_or_default() {
        "Leads" => Canned::json(200, &leads),
        "Empty" => Canned::empty(204),
        "Unchanged" => Canned::empty(304),
        "Later" => Canned::json(202, r#"{"status":"queued"}"#),
        "Locked" => Canned::json(401, &invalid_token),
        "Broken" => Canned::json(
            500,
            r#"{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}"#,
        ),
        other => Canned::json(404, &format!(r#"{{"code":"NOT_FOUND","message":"{other}"}}"#)),
    })
    .await
}

#[tokio::test]
async fn no_content_and_not_modified_become_empty_through_the_client() {
    let server = server().await;
    let crm = support::crm_client(server.base_url());

    let empty = crm.list_records().module("Empty").send().await.or_empty().expect("204 is not an error");
    assert!(empty.is_none());

    let outcome = crm.list_records().module("Empty").send().await.or_outcome().expect("204 is not an error");
    assert_eq!(outcome.empty(), Some(Empty::NoContent));

    let outcome = crm
        .list_records()
        .module("Unchanged")
        .if_modified_since(SINCE)
        .send()
        .await
        .or_outcome()
        .expect("304 is not an error");
    assert!(matches!(outcome, Outcome::NotModified));
    let unchanged = crm.list_records().module("Unchanged").if_modified_since(SINCE).send().await.or_empty();
    assert!(matches!(unchanged, Ok(None)));

    let seen = server.take();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[2].header("if-modified-since"), Some(SINCE), "the conditional GET carried its header");
}

#[tokio::test]
async fn values_pass_through_with_their_status() {
    let server = server().await;
    let crm = support::crm_client(server.base_url());

    let page = crm.list_records().module("Leads").send().await.or_empty().expect("200").expect("a value");
    assert_eq!(page.status(), 200);
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id.as_deref(), Some("3652397000000190367"));

    let outcome = crm.list_records().module("Leads").send().await.or_outcome().expect("200").into_inner();
    assert_eq!(outcome.value().map(|p| p.info.and_then(|i| i.count)), Some(Some(1)));
}

#[tokio::test]
async fn every_other_answer_stays_the_same_error() {
    let server = server().await;
    let crm = support::crm_client(server.base_url());

    match crm.list_records().module("Broken").send().await.or_empty() {
        Err(Error::ErrorResponse(e)) => {
            assert_eq!(e.status(), 500);
            assert_eq!(e.code, "INTERNAL_ERROR");
        }
        other => panic!("expected the 500 error envelope, got {:?}", other.map(|_| ())),
    }
    match crm.list_records().module("Locked").send().await.or_outcome() {
        Err(Error::ErrorResponse(e)) => {
            assert_eq!(e.status(), 401);
            assert_eq!(e.code, "INVALID_TOKEN");
        }
        other => panic!("expected the 401 error envelope, got {:?}", other.map(|_| ())),
    }
    // 202 is not declared for this operation: still unexpected, not empty.
    match crm.list_records().module("Later").send().await.or_empty() {
        Err(Error::UnexpectedResponse(r)) => assert_eq!(r.status(), 202),
        other => panic!("expected the untouched 202, got {:?}", other.map(|_| ())),
    }
    match crm.list_records().send().await.or_empty() {
        Err(Error::InvalidRequest(m)) => assert!(m.contains("module"), "{m}"),
        other => panic!("expected InvalidRequest, got {:?}", other.map(|_| ())),
    }
}

/// Operations declared `2XX` decode every 2xx as JSON: a 204 there is a payload error with an
/// empty body, which `or_empty` deliberately leaves alone (the status is gone by then).
#[tokio::test]
async fn a_204_on_a_2xx_operation_stays_a_payload_error() {
    let server = server().await;
    let crm = support::crm_client(server.base_url());
    match crm.delete_record().module("Empty").record_id("1").send().await.or_empty() {
        Err(Error::InvalidResponsePayload(bytes, _)) => assert!(bytes.is_empty()),
        other => panic!("expected InvalidResponsePayload, got {:?}", other.map(|_| ())),
    }
}
