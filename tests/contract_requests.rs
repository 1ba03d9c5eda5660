//! Contract: the exact HTTP request every generated operation sends (method, path, query,
//! headers, body), captured by a loopback server and snapshotted with secrets redacted.

mod support;

use serde_json::json;
use support::capture::{CaptureServer, Captured, REDACTED, Shape};
use support::surface;
use zohocrm::accounts::types::{GrantType, RevokeRequest, TokenRequest};
use zohocrm::crm::types::{RecordsWrite, SortOrder, UserType, UsersWrite};

const SINCE: &str = "2019-07-25T15:26:49+05:30";
const CLIENT_SECRET: &str = "cs-5f0c1e1fd3b2-SECRET";
const GRANT_CODE: &str = "1000.gc-7d1f0a9e.SECRET";
const REFRESH_TOKEN: &str = "1000.rt-0b9e4c11.SECRET";
const ACCESS_TOKEN: &str = "1000.at-3e8f2b7a.SECRET";

/// Sends one call, asserts it succeeded and that exactly one request reached the server,
/// snapshots its redacted shape and records the operation as covered.
macro_rules! call {
    ($server:expr, $covered:expr, $client:literal, $op:literal, $snap:literal, $call:expr) => {{
        let result = $call.await;
        if let Err(e) = &result {
            panic!("{}: {e}", $op);
        }
        let captured = $server.take_one();
        insta::assert_yaml_snapshot!(concat!($client, "_", $snap), Shape::of(&captured));
        $covered.push($op.to_owned());
        captured
    }};
}

fn users_body() -> UsersWrite {
    serde_json::from_value(json!({
        "users": [{
            "first_name": "Jane",
            "last_name": "Doe",
            "email": "jane.doe@zylker.com",
            "role": {"id": "4150868000000231921"},
            "profile": {"id": "4150868000000026011"}
        }]
    }))
    .expect("valid UsersWrite")
}

fn records_body(extra: serde_json::Value) -> RecordsWrite {
    let mut body = json!({
        "data": [{"id": "3652397000000190367", "Last_Name": "Burns", "Company": "Zylker", "Annual_Revenue": 200000}],
        "trigger": ["workflow", "approval"]
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    serde_json::from_value(body).expect("valid RecordsWrite")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn surface_ids(client: &str) -> Vec<String> {
    sorted(surface::operations(surface::compiled_source(client)).into_iter().map(|op| op.operation_id).collect())
}

/// Every CRM operation, every parameter set, against the capture server.
#[tokio::test]
async fn every_crm_operation_request_shape() {
    let server = CaptureServer::json_ok("{}").await;
    let crm = support::crm_client(server.base_url());
    let mut covered = Vec::new();
    let user = "4150868000000225013";
    let record = "3652397000000190367";

    call!(server, covered, "crm", "get_org", "get_org", crm.get_org().send());
    call!(
        server,
        covered,
        "crm",
        "list_users",
        "list_users",
        crm.list_users()
            .type_(UserType::ActiveConfirmedAdmins)
            .page(2u32)
            .per_page(200u32)
            .if_modified_since(SINCE)
            .send()
    );
    call!(server, covered, "crm", "add_users", "add_users", crm.add_users().body(users_body()).send());
    call!(server, covered, "crm", "update_users", "update_users", crm.update_users().body(users_body()).send());
    call!(server, covered, "crm", "get_user", "get_user", crm.get_user().user_id(user).if_modified_since(SINCE).send());
    call!(
        server,
        covered,
        "crm",
        "update_user",
        "update_user",
        crm.update_user().user_id(user).body(users_body()).send()
    );
    call!(server, covered, "crm", "delete_user", "delete_user", crm.delete_user().user_id(user).send());
    call!(server, covered, "crm", "list_modules", "list_modules", crm.list_modules().if_modified_since(SINCE).send());
    call!(server, covered, "crm", "get_module", "get_module", crm.get_module().module_api_name("Leads").send());
    call!(server, covered, "crm", "list_fields", "list_fields", crm.list_fields().module("Leads").send());
    call!(server, covered, "crm", "list_layouts", "list_layouts", crm.list_layouts().module("Leads").send());
    call!(
        server,
        covered,
        "crm",
        "list_records",
        "list_records",
        crm.list_records()
            .module("Leads")
            .fields("Last_Name,Email,Owner")
            .ids("3652397000000190367,3652397000000190368")
            .sort_by("Created_Time")
            .sort_order(SortOrder::Desc)
            .page(3u32)
            .per_page(50u32)
            .cvid("3652397000000087501")
            .converted("both")
            .approved("true")
            .if_modified_since(SINCE)
            .send()
    );
    call!(server, covered, "crm", "list_records", "list_records_minimal", crm.list_records().module("Leads").send());
    call!(
        server,
        covered,
        "crm",
        "insert_records",
        "insert_records",
        crm.insert_records().module("Leads").body(records_body(json!({}))).send()
    );
    call!(
        server,
        covered,
        "crm",
        "update_records",
        "update_records",
        crm.update_records().module("Leads").body(records_body(json!({}))).send()
    );
    call!(
        server,
        covered,
        "crm",
        "upsert_records",
        "upsert_records",
        crm.upsert_records()
            .module("Leads")
            .body(records_body(json!({"duplicate_check_fields": ["Email", "Company"]})))
            .send()
    );
    call!(
        server,
        covered,
        "crm",
        "delete_records",
        "delete_records",
        crm.delete_records().module("Leads").ids("3652397000000190367,3652397000000190368").wf_trigger(true).send()
    );
    call!(
        server,
        covered,
        "crm",
        "search_records",
        "search_records",
        crm.search_records()
            .module("Leads")
            .criteria(r"((Last_Name:equals:Burns\,B)and(Company:starts_with:Zyl & Co))")
            .email("burns.mary@xyz.com")
            .phone("+1 555-555-5555")
            .word("Blue Ridge")
            .converted("false")
            .approved("both")
            .page(1u32)
            .per_page(200u32)
            .send()
    );
    call!(
        server,
        covered,
        "crm",
        "list_deleted_records",
        "list_deleted_records",
        crm.list_deleted_records().module("Leads").type_("recycle").page(1u32).per_page(100u32).send()
    );
    call!(
        server,
        covered,
        "crm",
        "get_record",
        "get_record",
        crm.get_record().module("Leads").record_id(record).fields("Last_Name,Email").if_modified_since(SINCE).send()
    );
    call!(
        server,
        covered,
        "crm",
        "update_record",
        "update_record",
        crm.update_record().module("Leads").record_id(record).body(records_body(json!({}))).send()
    );
    call!(
        server,
        covered,
        "crm",
        "delete_record",
        "delete_record",
        crm.delete_record().module("Leads").record_id(record).wf_trigger(false).send()
    );

    assert_eq!(sorted(covered), surface_ids("crm"), "every generated CRM operation must have a request snapshot here");
}

fn code_grant() -> TokenRequest {
    TokenRequest {
        grant_type: GrantType::AuthorizationCode,
        client_id: "1000.CLIENTID0123".into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: Some("https://app.example.com/zoho/callback?tenant=a b".into()),
        code: Some(GRANT_CODE.into()),
        refresh_token: None,
    }
}

fn refresh_grant() -> TokenRequest {
    TokenRequest {
        grant_type: GrantType::RefreshToken,
        client_id: "1000.CLIENTID0123".into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_uri: None,
        code: None,
        refresh_token: Some(REFRESH_TOKEN.into()),
    }
}

/// Every Accounts operation against the capture server.
#[tokio::test]
async fn every_accounts_operation_request_shape() {
    let server = CaptureServer::json_ok("{}").await;
    let accounts = support::accounts_client(server.base_url());
    let mut covered = Vec::new();

    call!(server, covered, "accounts", "server_info", "server_info", accounts.server_info().send());
    call!(server, covered, "accounts", "token", "token_authorization_code", accounts.token().body(code_grant()).send());
    call!(server, covered, "accounts", "token", "token_refresh_token", accounts.token().body(refresh_grant()).send());
    call!(
        server,
        covered,
        "accounts",
        "revoke_token",
        "revoke_token",
        accounts.revoke_token().body(RevokeRequest { token: REFRESH_TOKEN.into() }).send()
    );

    assert_eq!(
        sorted(covered),
        surface_ids("accounts"),
        "every generated Accounts operation must have a request snapshot here"
    );
}

/// Asserts a secret appears nowhere in the request line (raw or percent-encoded).
fn assert_not_in_url(request: &Captured, secret: &str) {
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    assert!(
        !request.target.contains(secret) && !request.target.contains(&encoded),
        "a secret is in the URL: {}",
        request.target
    );
}

/// The token and revoke endpoints carry every parameter in an
/// `application/x-www-form-urlencoded` body and nothing in the URL.
#[tokio::test]
async fn token_parameters_go_in_a_form_body_never_in_the_url() {
    let server = CaptureServer::json_ok("{}").await;
    let accounts = support::accounts_client(server.base_url());

    let cases = [
        (
            code_grant(),
            vec![
                ("client_id", "1000.CLIENTID0123"),
                ("client_secret", CLIENT_SECRET),
                ("code", GRANT_CODE),
                ("grant_type", "authorization_code"),
                ("redirect_uri", "https://app.example.com/zoho/callback?tenant=a b"),
            ],
        ),
        (
            refresh_grant(),
            vec![
                ("client_id", "1000.CLIENTID0123"),
                ("client_secret", CLIENT_SECRET),
                ("grant_type", "refresh_token"),
                ("refresh_token", REFRESH_TOKEN),
            ],
        ),
    ];
    for (body, expected) in cases {
        accounts.token().body(body).send().await.expect("token call");
        let request = server.take_one();
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/oauth/v2/token", "no query string at all");
        assert_eq!(request.raw_query(), None);
        assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
        let mut pairs = support::capture::decode_form(&request.body_text());
        pairs.sort();
        let expected: Vec<(String, String)> = expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(pairs, expected, "form body");
        for secret in [CLIENT_SECRET, GRANT_CODE, REFRESH_TOKEN] {
            assert_not_in_url(&request, secret);
            assert!(request.headers.iter().all(|(_, v)| !v.contains(secret)), "a secret is in a header");
        }
        let shape = serde_json::to_string(&Shape::of(&request)).expect("serializes");
        for secret in [CLIENT_SECRET, GRANT_CODE, REFRESH_TOKEN] {
            assert!(!shape.contains(secret), "the snapshot shape leaks a secret: {shape}");
        }
    }

    accounts.revoke_token().body(RevokeRequest { token: REFRESH_TOKEN.into() }).send().await.expect("revoke call");
    let request = server.take_one();
    assert_eq!((request.method.as_str(), request.target.as_str()), ("POST", "/oauth/v2/token/revoke"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        request.body_text(),
        format!("token={}", url::form_urlencoded::byte_serialize(REFRESH_TOKEN.as_bytes()).collect::<String>())
    );
    assert_not_in_url(&request, REFRESH_TOKEN);
}

/// An access token in `Authorization` (added by the SDK's hooks) never reaches a snapshot.
#[tokio::test]
async fn authorization_header_is_redacted_in_shapes() {
    let server = CaptureServer::json_ok("{}").await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Zoho-oauthtoken {ACCESS_TOKEN}").parse().expect("header value"),
    );
    let http = zohocrm::transport::http_client_builder().default_headers(headers).build().expect("client");
    let crm = zohocrm::crm::Client::new_with_client(server.base_url(), http, Default::default());
    crm.get_org().send().await.expect("get_org");
    let request = server.take_one();
    assert_eq!(request.header("authorization"), Some(format!("Zoho-oauthtoken {ACCESS_TOKEN}").as_str()));
    assert_not_in_url(&request, ACCESS_TOKEN);
    let shape = Shape::of(&request);
    assert!(shape.headers.contains(&format!("authorization: Zoho-oauthtoken {REDACTED}")), "{:?}", shape.headers);
    assert!(!serde_json::to_string(&shape).expect("serializes").contains(ACCESS_TOKEN));
}

/// Path parameters are percent-encoded as one segment (all but `A-Za-z0-9-._~`): a `/`, `?`,
/// `=` or space cannot change the route.
#[tokio::test]
async fn path_parameters_are_one_encoded_segment() {
    let server = CaptureServer::json_ok("{}").await;
    let crm = support::crm_client(server.base_url());
    crm.get_record().module("Custom Module").record_id("../users/1?type=AllUsers#x").send().await.expect("get_record");
    let request = server.take_one();
    assert_eq!(request.target, "/crm/v2/Custom%20Module/..%2Fusers%2F1%3Ftype%3DAllUsers%23x");
    assert_eq!(request.raw_query(), None);
}

/// Unset optional parameters are not sent; a missing required one fails before any request.
#[tokio::test]
async fn optional_parameters_are_omitted_and_required_ones_enforced() {
    let server = CaptureServer::json_ok("{}").await;
    let crm = support::crm_client(server.base_url());

    crm.list_users().send().await.expect("list_users");
    let request = server.take_one();
    assert_eq!(request.target, "/crm/v2/users");
    assert_eq!(request.header("if-modified-since"), None);

    match crm.list_records().send().await {
        Err(zohocrm::crm::Error::InvalidRequest(message)) => {
            assert!(message.contains("module"), "{message}")
        }
        other => panic!("expected InvalidRequest naming `module`, got {:?}", other.map(|_| ())),
    }
    match crm.delete_records().module("Leads").send().await {
        Err(zohocrm::crm::Error::InvalidRequest(message)) => {
            assert!(message.contains("ids"), "{message}")
        }
        other => panic!("expected InvalidRequest naming `ids`, got {:?}", other.map(|_| ())),
    }
    match crm.insert_records().module("Leads").send().await {
        Err(zohocrm::crm::Error::InvalidRequest(message)) => {
            assert!(message.contains("data"), "{message}")
        }
        other => panic!("expected InvalidRequest naming `data`, got {:?}", other.map(|_| ())),
    }
    assert!(server.take().is_empty(), "nothing may be sent when a required parameter is missing");
}

/// RFC 6749's answer for a refresh token that is invalid, expired or revoked is `invalid_grant`:
/// like Zoho's own `invalid_code`, it means the user must authorize again (not a failure to
/// retry every few seconds).
#[tokio::test]
async fn an_invalid_grant_answer_to_a_refresh_means_authorize_again() {
    use zohocrm::dc::{DataCenter, Endpoints, Environment};
    let server = CaptureServer::json_ok(r#"{"error":"invalid_grant"}"#).await;
    let endpoints = Endpoints::zoho().with_accounts_server(DataCenter::Us, server.base_url()).expect("endpoints");
    let zoho = zohocrm::Zoho::builder(zohocrm::ClientCredentials::new("1000.CLIENT", CLIENT_SECRET))
        .endpoints(endpoints)
        .build()
        .expect("zoho");
    let key = zohocrm::TokenKey::new("u", DataCenter::Us, Environment::Production);
    let token = zohocrm::Token {
        key: key.clone(),
        access_token: None,
        refresh_token: Some(zohocrm::RefreshToken::new(REFRESH_TOKEN)),
        expires_at_ms: 0,
        api_domain: "https://www.zohoapis.com".into(),
        accounts_server: server.base_url().to_owned(),
        scopes: Vec::new(),
        created_at_ms: 0,
        updated_at_ms: 0,
    };
    let err = zoho.oauth().refresh(&token).await.expect_err("refused");
    assert!(
        matches!(&err, zohocrm::Error::ReauthorizationRequired { zoho_error: Some(e), .. } if e == "invalid_grant"),
        "{err:?}"
    );
}
