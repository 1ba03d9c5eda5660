//! The simulator's CRM v2 side over real HTTP: authentication, scopes, users, org, metadata,
//! records (list, get, write, upsert, search, deleted), pagination, 204/304 and error envelopes.
#![cfg(feature = "testkit")]

mod testkit_common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use testkit_common::*;
use zohocrm::clock::Clock;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{Route, Simulator};

const PATRICIA: &str = "patricia.boyle@zylker.example";

#[tokio::test]
async fn current_user_is_the_tokens_user_in_every_dc_and_environment() {
    let sim = Simulator::start().await.unwrap();
    for (email, env) in [
        (PATRICIA, Environment::Production),
        ("eu.user@zylker.example", Environment::Sandbox),
        ("cn.user@zylker.example", Environment::Developer),
    ] {
        let t = login(&sim, email, env, "ZohoCRM.users.READ").await;
        let (status, body) = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
        assert_eq!(status, 200, "{body}");
        let users = body["users"].as_array().unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["email"], email);
        assert_eq!(keys(&users[0]), keys(&fixture("users_list.json")["users"][0]));
        assert_eq!(keys(&body["info"]), keys(&fixture("users_list.json")["info"]));
        assert_eq!(body["info"], json!({"per_page": 200, "count": 1, "page": 1, "more_records": false}));
    }
    // The SimUser id is the production CRM id.
    let t = login(&sim, PATRICIA, Environment::Production, "ZohoCRM.users.READ").await;
    let (_, body) = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
    assert_eq!(body["users"][0]["id"], json!(sim.user(PATRICIA).unwrap().id));
    assert_eq!(body["users"][0]["zuid"], json!(sim.user(PATRICIA).unwrap().zuid));
    // Bearer works too.
    let resp = client()
        .get(format!("{}/crm/v2/users?type=CurrentUser", t.api_domain))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn invalid_token_for_expired_revoked_unknown_other_dc_or_environment() {
    let sim = Simulator::start().await.unwrap();
    let expected = fixture("error_invalid_token.json");
    let t = login(&sim, "eu.user@zylker.example", Environment::Production, "ZohoCRM.users.READ").await;
    let path = "/users?type=CurrentUser";
    assert_eq!(crm_get(&t.api_domain, &t.access, path).await.0, 200);
    // Other DC, other environment, unknown token.
    for base in
        [sim.api_url(DataCenter::Us, Environment::Production), sim.api_url(DataCenter::Eu, Environment::Sandbox)]
    {
        assert_eq!(crm_json(&base, &t.access, path).await, (401, expected.clone()));
    }
    assert_eq!(crm_json(&t.api_domain, "1000.nope.nope", path).await, (401, expected.clone()));
    // Exactly Zoho's bytes.
    assert_eq!(
        crm_get(&t.api_domain, "1000.nope.nope", path).await.1,
        r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#
    );
    // Expiry follows the simulated clock: fine at 59:59, dead at 60:00.
    sim.advance(Duration::from_secs(3599));
    assert_eq!(crm_get(&t.api_domain, &t.access, path).await.0, 200);
    sim.advance(Duration::from_secs(1));
    assert_eq!(crm_json(&t.api_domain, &t.access, path).await, (401, expected.clone()));
    // Revoked behind the SDK's back.
    let t = login(&sim, "eu.user@zylker.example", Environment::Production, "ZohoCRM.users.READ").await;
    assert_eq!(sim.invalidate_access_tokens_for("eu.user@zylker.example"), 1);
    assert_eq!(crm_json(&t.api_domain, &t.access, path).await, (401, expected.clone()));
    assert_eq!(refresh(&sim, DataCenter::Eu, &t.refresh).await.0, 200, "the refresh token still works");
    // No header at all.
    let resp = client().get(format!("{}/crm/v2/users", t.api_domain)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "AUTHENTICATION_FAILURE");
}

/// Patricia's production token with every scope.
async fn admin(sim: &Simulator) -> Tokens {
    login(sim, PATRICIA, Environment::Production, ALL_SCOPES).await
}

fn emails(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["users"]
        .as_array()
        .map(|a| a.iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// One call and the scopes that must (and must not) cover it: (method, path, body, scopes that
/// work, scopes that answer `OAUTH_SCOPE_MISMATCH`). A comma joins scopes granted together.
type ScopeCase<'a> = (Method, &'a str, Option<Value>, Vec<&'a str>, Vec<&'a str>);

/// Runs every case against one token whose scopes are replaced before each call.
async fn assert_scopes(cases: Vec<ScopeCase<'_>>) {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let token = zohocrm::AccessToken::new(t.access.clone());
    let mismatch = fixture("error_oauth_scope_mismatch.json");
    for (method, path, body, ok, bad) in cases {
        for scopes in ok {
            sim.set_token_scopes(&token, &scopes.split(',').collect::<Vec<_>>());
            let (status, resp) = crm_send(method.clone(), &t.api_domain, &t.access, path, body.clone()).await;
            assert!(status != 401 && status != 403, "{method} {path} with {scopes}: {status} {resp}");
        }
        for scopes in bad {
            sim.set_token_scopes(&token, &scopes.split(',').collect::<Vec<_>>());
            assert_eq!(
                crm_send(method.clone(), &t.api_domain, &t.access, path, body.clone()).await,
                (401, mismatch.clone()),
                "{method} {path} with {scopes}"
            );
        }
    }
}

/// Users and the org: `ZohoCRM.users.*` and `ZohoCRM.org.*` (scope names ignore case).
#[tokio::test]
async fn user_and_org_calls_need_a_users_or_org_scope() {
    assert_scopes(vec![
        (
            Method::GET,
            "/users?type=CurrentUser",
            None,
            vec!["ZohoCRM.users.READ", "ZohoCRM.users.ALL", "zohocrm.USERS.read"],
            vec!["ZohoCRM.org.READ", "ZohoCRM.users.CREATE", "ZohoCRM.modules.ALL"],
        ),
        (
            Method::GET,
            "/org",
            None,
            vec!["ZohoCRM.org.READ", "ZohoCRM.org.ALL"],
            vec!["ZohoCRM.users.READ", "ZohoCRM.settings.ALL"],
        ),
    ])
    .await;
}

/// Metadata: `ZohoCRM.settings.ALL|READ` or the scope of the part (modules, fields, layouts).
#[tokio::test]
async fn settings_calls_need_the_settings_scope_of_their_part() {
    assert_scopes(vec![
        (
            Method::GET,
            "/settings/modules",
            None,
            vec![
                "ZohoCRM.settings.READ",
                "ZohoCRM.settings.ALL",
                "ZohoCRM.settings.modules.READ",
                "ZohoCRM.settings.modules.ALL",
            ],
            vec!["ZohoCRM.settings.fields.READ", "ZohoCRM.modules.ALL"],
        ),
        (
            Method::GET,
            "/settings/modules/Leads",
            None,
            vec!["ZohoCRM.settings.modules.READ"],
            vec!["ZohoCRM.settings.layouts.ALL"],
        ),
        (
            Method::GET,
            "/settings/fields?module=Leads",
            None,
            vec!["ZohoCRM.settings.READ", "ZohoCRM.settings.fields.READ", "ZohoCRM.settings.fields.ALL"],
            vec!["ZohoCRM.settings.modules.READ", "ZohoCRM.settings.layouts.READ"],
        ),
        (
            Method::GET,
            "/settings/layouts?module=Leads",
            None,
            vec!["ZohoCRM.settings.ALL", "ZohoCRM.settings.layouts.READ"],
            vec!["ZohoCRM.settings.fields.ALL"],
        ),
    ])
    .await;
}

/// Record reads: `ZohoCRM.modules.ALL|READ` or the module's own scope; a write scope is not enough.
#[tokio::test]
async fn record_reads_need_a_module_read_scope() {
    assert_scopes(vec![
        (
            Method::GET,
            "/Leads?per_page=1",
            None,
            vec![
                "ZohoCRM.modules.ALL",
                "ZohoCRM.modules.READ",
                "ZohoCRM.modules.Leads.READ",
                "ZohoCRM.modules.leads.all",
            ],
            vec!["ZohoCRM.modules.Contacts.READ", "ZohoCRM.modules.CREATE", "ZohoCRM.settings.ALL"],
        ),
        (Method::GET, "/Leads/deleted", None, vec!["ZohoCRM.modules.READ"], vec!["ZohoCRM.modules.DELETE"]),
    ])
    .await;
}

/// Record writes: the CREATE (or WRITE) scope for inserts and upserts, UPDATE for updates, DELETE for deletes.
#[tokio::test]
async fn record_writes_need_the_create_update_or_delete_scope() {
    let lead_body = json!({"data": [{"Last_Name": "Scoped"}]});
    assert_scopes(vec![
        (
            Method::POST,
            "/Leads",
            Some(lead_body.clone()),
            vec![
                "ZohoCRM.modules.CREATE",
                "ZohoCRM.modules.Leads.CREATE",
                "ZohoCRM.modules.Leads.WRITE",
                "ZohoCRM.modules.ALL",
            ],
            vec!["ZohoCRM.modules.READ", "ZohoCRM.modules.UPDATE"],
        ),
        (
            Method::POST,
            "/Leads/upsert",
            Some(lead_body.clone()),
            vec!["ZohoCRM.modules.CREATE", "ZohoCRM.modules.WRITE"],
            vec!["ZohoCRM.modules.READ"],
        ),
        (
            Method::PUT,
            "/Leads",
            Some(json!({"data": [{"id": "0", "Last_Name": "x"}]})),
            vec!["ZohoCRM.modules.UPDATE", "ZohoCRM.modules.Leads.ALL"],
            vec!["ZohoCRM.modules.CREATE", "ZohoCRM.modules.Leads.READ"],
        ),
        (
            Method::DELETE,
            "/Leads?ids=0",
            None,
            vec!["ZohoCRM.modules.DELETE", "ZohoCRM.modules.Leads.DELETE"],
            vec!["ZohoCRM.modules.UPDATE"],
        ),
    ])
    .await;
}

/// Search: a module read scope and a `ZohoSearch.securesearch` scope, neither alone.
#[tokio::test]
async fn search_needs_a_module_scope_and_a_securesearch_scope() {
    assert_scopes(vec![(
        Method::GET,
        "/Leads/search?word=Burns",
        None,
        vec![
            "ZohoCRM.modules.ALL,ZohoSearch.securesearch.READ",
            "ZohoCRM.modules.Leads.READ,ZohoSearch.securesearch.ALL",
        ],
        vec!["ZohoCRM.modules.ALL", "ZohoSearch.securesearch.READ"],
    )])
    .await;
}

#[tokio::test]
async fn user_types_select_the_right_users() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let cases = [
        ("AllUsers", vec!["jack.smith", "jane.jones", "patricia.boyle", "tom.jenkins", "us.user"]),
        ("ActiveUsers", vec!["jane.jones", "patricia.boyle", "tom.jenkins", "us.user"]),
        ("DeactiveUsers", vec!["jack.smith"]),
        ("ConfirmedUsers", vec!["jane.jones", "patricia.boyle", "us.user"]),
        ("NotConfirmedUsers", vec!["jack.smith", "tom.jenkins"]),
        ("DeletedUsers", vec!["old.user"]),
        ("ActiveConfirmedUsers", vec!["jane.jones", "patricia.boyle", "us.user"]),
        ("AdminUsers", vec!["patricia.boyle", "tom.jenkins"]),
        ("ActiveConfirmedAdmins", vec!["patricia.boyle"]),
        ("CurrentUser", vec!["patricia.boyle"]),
    ];
    for (kind, expected) in cases {
        let (status, body) = crm_json(&t.api_domain, &t.access, &format!("/users?type={kind}")).await;
        assert_eq!(status, 200, "{kind}");
        let expected: Vec<String> = expected.iter().map(|e| format!("{e}@zylker.example")).collect();
        assert_eq!(emails(&body), expected, "{kind}");
        for u in body["users"].as_array().unwrap() {
            assert_same_shape(u, &fixture("users_list.json")["users"][0], kind);
        }
    }
    // No type: AllUsers.
    assert_eq!(emails(&crm_json(&t.api_domain, &t.access, "/users").await.1).len(), 5);
    let (status, body) = crm_json(&t.api_domain, &t.access, "/users?type=Nobody").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_DATA")));
    // Paging.
    let (_, p1) = crm_json(&t.api_domain, &t.access, "/users?per_page=2").await;
    assert_eq!(p1["info"], json!({"per_page": 2, "count": 2, "page": 1, "more_records": true}));
    let (_, p3) = crm_json(&t.api_domain, &t.access, "/users?per_page=2&page=3").await;
    assert_eq!(p3["info"], json!({"per_page": 2, "count": 1, "page": 3, "more_records": false}));
    assert_eq!(crm_get(&t.api_domain, &t.access, "/users?per_page=2&page=4").await, (204, String::new()));
    assert_eq!(crm_json(&t.api_domain, &t.access, "/users?per_page=201").await.0, 400);
    // One user.
    let id = sim.user("jane.jones@zylker.example").unwrap().id;
    let (status, body) = crm_json(&t.api_domain, &t.access, &format!("/users/{id}")).await;
    assert_eq!((status, body["users"][0]["email"].as_str()), (200, Some("jane.jones@zylker.example")));
    assert!(body.get("info").is_none());
    assert_eq!(crm_get(&t.api_domain, &t.access, "/users/123").await, (204, String::new()));
}

#[tokio::test]
async fn users_can_be_added_updated_and_deleted_with_zoho_envelopes() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let me = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await.1["users"][0].clone();
    let (role, profile) = (me["role"]["id"].clone(), me["profile"]["id"].clone());
    let new_user = |email: &str| json!({"role": role, "first_name": "New", "email": email, "profile": profile, "last_name": "Person"});
    // All good: 201, the fixture's shape.
    let (status, body) = crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/users",
        Some(json!({"users": [new_user("new.person@zylker.example")]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_same_shape(&body, &fixture("users_add_response.json"), "add");
    assert_eq!(body["users"][0]["message"], "User added");
    let new_id = body["users"][0]["details"]["id"].as_str().unwrap().to_owned();
    let (_, got) = crm_json(&t.api_domain, &t.access, &format!("/users/{new_id}")).await;
    assert_eq!(
        (got["users"][0]["full_name"].as_str(), got["users"][0]["confirm"].as_bool()),
        (Some("New Person"), Some(false))
    );
    // Mixed: 207 with per-item errors; all bad: 400.
    let missing = json!({"role": role, "profile": profile, "last_name": "NoEmail"});
    let (status, body) = crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/users",
        Some(json!({"users": [new_user("other@zylker.example"), new_user("new.person@zylker.example"), missing]})),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    let codes: Vec<&str> = body["users"].as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["SUCCESS", "DUPLICATE_DATA", "MANDATORY_NOT_FOUND"]);
    assert_eq!(body["users"][2]["details"], json!({"api_name": "email"}));
    assert_eq!(body["users"][2]["status"], "error");
    let (status, _) = crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/users",
        Some(json!({"users": [new_user("other@zylker.example")]})),
    )
    .await;
    assert_eq!(status, 400);
    // Update one and many: 200 "User updated".
    let (status, body) = crm_send(
        Method::PUT,
        &t.api_domain,
        &t.access,
        &format!("/users/{new_id}"),
        Some(json!({"users": [{"phone": "555-0100", "last_name": "Renamed"}]})),
    )
    .await;
    assert_eq!((status, body["users"][0]["message"].as_str()), (200, Some("User updated")), "{body}");
    assert_eq!(
        crm_json(&t.api_domain, &t.access, &format!("/users/{new_id}")).await.1["users"][0]["full_name"],
        "New Renamed"
    );
    let (status, body) = crm_send(
        Method::PUT,
        &t.api_domain,
        &t.access,
        "/users",
        Some(json!({"users": [{"id": new_id, "status": "disabled"}, {"id": "42", "phone": "1"}]})),
    )
    .await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["users"][1]["code"], "INVALID_DATA");
    // Delete: 200, `details: {}`; the user is now a DeletedUser.
    let (status, body) = crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/users/{new_id}"), None).await;
    assert_eq!(
        (status, body),
        (200, json!({"users": [{"code": "SUCCESS", "details": {}, "message": "User deleted", "status": "success"}]}))
    );
    assert!(
        emails(&crm_json(&t.api_domain, &t.access, "/users?type=DeletedUsers").await.1)
            .contains(&"new.person@zylker.example".to_owned())
    );
    assert_eq!(crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/users/{new_id}"), None).await.0, 400);
    // Limits and bodies.
    let many: Vec<Value> = (0..101).map(|i| new_user(&format!("u{i}@zylker.example"))).collect();
    let (status, body) = crm_send(Method::POST, &t.api_domain, &t.access, "/users", Some(json!({"users": many}))).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("LIMIT_EXCEEDED")));
    let (status, body) = crm_send(Method::POST, &t.api_domain, &t.access, "/users", Some(json!({}))).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "users"}, "message": "One of the expected parameter is missing", "status": "error"})
        )
    );
    // Only administrators manage users.
    let jane = login(&sim, "jane.jones@zylker.example", Environment::Production, ALL_SCOPES).await;
    let (status, body) = crm_send(
        Method::POST,
        &jane.api_domain,
        &jane.access,
        "/users",
        Some(json!({"users": [new_user("x@zylker.example")]})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("NO_PERMISSION")));
}

#[tokio::test]
async fn if_modified_since_answers_304_until_something_changes() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let now_s = sim.clock().now_ms() / 1000;
    let stamp = |secs: i64| {
        // Render as Zoho does, with an offset (+05:30), from epoch seconds.
        let shifted = secs + 19_800;
        let days = shifted.div_euclid(86_400);
        let rem = shifted.rem_euclid(86_400);
        let (y, m, d) = civil(days);
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+05:30", rem / 3600, rem % 3600 / 60, rem % 60)
    };
    let get = |path: &'static str, since: String| {
        let api = t.api_domain.clone();
        let token = t.access.clone();
        async move {
            let resp = client()
                .get(format!("{api}/crm/v2{path}"))
                .header("Authorization", format!("Zoho-oauthtoken {token}"))
                .header("If-Modified-Since", since)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    for path in ["/users", "/settings/modules", "/Leads"] {
        assert_eq!(get(path, stamp(now_s)).await, (304, String::new()), "{path}");
        assert_eq!(get(path, stamp(now_s - 200 * 86_400)).await.0, 200, "{path}");
    }
    // Change one lead and one user a second later: only they come back.
    sim.advance(Duration::from_secs(1));
    let (_, leads) = crm_json(&t.api_domain, &t.access, "/Leads?per_page=1").await;
    let lead_id = leads["data"][0]["id"].as_str().unwrap().to_owned();
    crm_send(
        Method::PUT,
        &t.api_domain,
        &t.access,
        &format!("/Leads/{lead_id}"),
        Some(json!({"data": [{"City": "Tulsa"}]})),
    )
    .await;
    let jane = sim.user("jane.jones@zylker.example").unwrap().id;
    crm_send(
        Method::PUT,
        &t.api_domain,
        &t.access,
        &format!("/users/{jane}"),
        Some(json!({"users": [{"phone": "1"}]})),
    )
    .await;
    let (status, body) = get("/Leads", stamp(now_s)).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, body["data"].as_array().unwrap().len(), body["data"][0]["City"].as_str()),
        (200, 1, Some("Tulsa"))
    );
    let (status, body) = get("/users", stamp(now_s)).await;
    assert_eq!(
        (status, emails(&serde_json::from_str(&body).unwrap())),
        (200, vec!["jane.jones@zylker.example".to_owned()])
    );
    // Single objects.
    let resp = client()
        .get(format!("{}/crm/v2/Leads/{lead_id}", t.api_domain))
        .header("Authorization", format!("Zoho-oauthtoken {}", t.access))
        .header("If-Modified-Since", stamp(now_s + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = client()
        .get(format!("{}/crm/v2/users/{jane}", t.api_domain))
        .header("Authorization", format!("Zoho-oauthtoken {}", t.access))
        .header("If-Modified-Since", stamp(now_s))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Unreadable header.
    let (status, body) = get("/Leads", "yesterday".to_owned()).await;
    assert_eq!(status, 400, "{body}");
}

/// Days since 1970-01-01 to a civil date (test-side copy, to check the simulator independently).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[tokio::test]
async fn org_and_metadata_have_zoho_shapes() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let (status, org) = crm_json(&t.api_domain, &t.access, "/org").await;
    assert_eq!(status, 200);
    assert_eq!(org["org"].as_array().unwrap().len(), 1);
    for k in ["id", "company_name", "primary_email", "time_zone", "currency", "license_details"] {
        assert!(org["org"][0].get(k).is_some(), "{k}");
    }
    assert_eq!(org["org"][0]["primary_email"], PATRICIA);
    // Sandbox is another org.
    let sb = login(&sim, PATRICIA, Environment::Sandbox, ALL_SCOPES).await;
    let (_, sorg) = crm_json(&sb.api_domain, &sb.access, "/org").await;
    assert_ne!(sorg["org"][0]["id"], org["org"][0]["id"]);

    let (status, modules) = crm_json(&t.api_domain, &t.access, "/settings/modules").await;
    assert_eq!(status, 200);
    let leads_fixture = fixture("settings_modules.json")["modules"][1].clone();
    for m in modules["modules"].as_array().unwrap() {
        assert_same_shape(m, &leads_fixture, m["api_name"].as_str().unwrap());
    }
    let names: Vec<&str> =
        modules["modules"].as_array().unwrap().iter().map(|m| m["api_name"].as_str().unwrap()).collect();
    for n in ["Leads", "Contacts", "Accounts", "Deals"] {
        assert!(names.contains(&n), "{n}");
    }
    let (status, one) = crm_json(&t.api_domain, &t.access, "/settings/modules/Deals").await;
    assert_eq!(
        (status, one["modules"].as_array().unwrap().len(), one["modules"][0]["api_name"].as_str()),
        (200, 1, Some("Deals"))
    );
    let (status, body) = crm_json(&t.api_domain, &t.access, "/settings/modules/Nope").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_MODULE")));

    let (status, fields) = crm_json(&t.api_domain, &t.access, "/settings/fields?module=Leads").await;
    assert_eq!(status, 200);
    let fields = fields["fields"].as_array().unwrap();
    let last = fields.iter().find(|f| f["api_name"] == "Last_Name").unwrap();
    assert_eq!((last["data_type"].as_str(), last["system_mandatory"].as_bool()), (Some("text"), Some(true)));
    // Every record key (but `$` keys, id and Tag) is a field.
    let record = fixture("records_leads_search.json")["data"][0].clone();
    for k in keys(&record).iter().filter(|k| !k.starts_with('$') && *k != "id" && *k != "Tag") {
        assert!(fields.iter().any(|f| f["api_name"] == json!(k)), "no field {k}");
    }
    let fid = last["id"].as_str().unwrap();
    let (status, one) = crm_json(&t.api_domain, &t.access, &format!("/settings/fields/{fid}?module=Leads")).await;
    assert_eq!((status, one["fields"][0]["api_name"].as_str()), (200, Some("Last_Name")));
    let (status, layouts) = crm_json(&t.api_domain, &t.access, "/settings/layouts?module=Contacts").await;
    assert_eq!(status, 200);
    assert!(layouts["layouts"][0]["sections"][0]["fields"].as_array().unwrap().len() > 10);
    assert_eq!(
        crm_json(&t.api_domain, &t.access, "/settings/fields").await,
        (
            400,
            json!({"code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "module"}, "message": "One of the expected parameter is missing", "status": "error"})
        )
    );
    assert_eq!(crm_json(&t.api_domain, &t.access, "/settings/layouts?module=Nope").await.1["code"], "INVALID_MODULE");
    assert_eq!(crm_get(&t.api_domain, &t.access, "/settings/fields?module=Home").await, (204, String::new()));
}

#[tokio::test]
async fn records_page_with_per_page_200_and_match_the_fixture_shape() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let fixture_body = fixture("records_leads_search.json");
    let (status, p1) = crm_json(&t.api_domain, &t.access, "/Leads?per_page=200").await;
    assert_eq!(status, 200);
    assert_eq!(p1["info"], json!({"per_page": 200, "count": 200, "page": 1, "more_records": true}));
    assert_same_shape(&p1, &fixture_body, "page1");
    let (_, p2) = crm_json(&t.api_domain, &t.access, "/Leads?per_page=200&page=2").await;
    assert_eq!(p2["info"], json!({"per_page": 200, "count": 60, "page": 2, "more_records": false}));
    let mut ids: Vec<&str> = p1["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["data"].as_array().unwrap())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 260);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/Leads?per_page=200&page=3").await, (204, String::new()));
    let (status, body) = crm_json(&t.api_domain, &t.access, "/Leads?per_page=201").await;
    assert_eq!(
        (status, body["code"].as_str(), body["details"]["param_name"].as_str()),
        (400, Some("INVALID_DATA"), Some("per_page"))
    );
    // Default page size is 200.
    assert_eq!(crm_json(&t.api_domain, &t.access, "/Leads").await.1["info"]["per_page"], 200);
    // fields=, ids=, sort_by/sort_order.
    let (_, some) = crm_json(&t.api_domain, &t.access, "/Leads?fields=Last_Name,Email&per_page=3").await;
    assert_eq!(keys(&some["data"][0]), ["Email", "Last_Name", "id"].iter().map(|s| (*s).to_owned()).collect());
    let pick = format!("{},{}", ids[5], ids[7]);
    let (_, two) = crm_json(&t.api_domain, &t.access, &format!("/Leads?ids={pick}")).await;
    assert_eq!(two["info"]["count"], 2);
    let (_, asc) =
        crm_json(&t.api_domain, &t.access, "/Leads?sort_by=Annual_Revenue&sort_order=asc&per_page=200").await;
    let revenue: Vec<f64> =
        asc["data"].as_array().unwrap().iter().map(|r| r["Annual_Revenue"].as_f64().unwrap()).collect();
    assert!(revenue.windows(2).all(|w| w[0] <= w[1]));
    let (_, desc) = crm_json(&t.api_domain, &t.access, "/Leads?sort_by=Annual_Revenue&per_page=5").await;
    assert!(desc["data"][0]["Annual_Revenue"].as_f64() >= desc["data"][4]["Annual_Revenue"].as_f64());
    // One record: `{"data":[one]}` without info; unknown id: 204.
    let (status, one) = crm_json(&t.api_domain, &t.access, &format!("/Leads/{}", ids[0])).await;
    assert_eq!((status, one["data"].as_array().unwrap().len()), (200, 1));
    assert!(one.get("info").is_none());
    assert_same_shape(&one["data"][0], &fixture_body["data"][0], "one");
    assert_eq!(crm_get(&t.api_domain, &t.access, "/Leads/111").await, (204, String::new()));
    // Other modules have data too; Notes has none (204).
    for m in ["Contacts", "Accounts", "Deals"] {
        let (status, body) = crm_json(&t.api_domain, &t.access, &format!("/{m}")).await;
        assert_eq!(status, 200, "{m}");
        assert!(body["info"]["count"].as_u64().unwrap() >= 10, "{m}");
        assert_eq!(body["data"][0]["Owner"]["name"], "Patricia Boyle");
    }
    assert_eq!(crm_get(&t.api_domain, &t.access, "/Notes").await, (204, String::new()));
}

#[tokio::test]
async fn environments_are_separate_orgs_with_separate_data() {
    let sim = Simulator::start().await.unwrap();
    let prod = admin(&sim).await;
    let sandbox = login(&sim, PATRICIA, Environment::Sandbox, ALL_SCOPES).await;
    let dev = login(&sim, PATRICIA, Environment::Developer, ALL_SCOPES).await;
    let (_, p) = crm_json(&prod.api_domain, &prod.access, "/Leads?per_page=1").await;
    let (_, s) = crm_json(&sandbox.api_domain, &sandbox.access, "/Leads").await;
    let (_, d) = crm_json(&dev.api_domain, &dev.access, "/Leads").await;
    assert_eq!(s["info"]["count"], 5);
    assert!(s["data"][0]["Company"].as_str().unwrap().contains("sandbox"));
    assert!(d["data"][0]["Company"].as_str().unwrap().contains("developer"));
    assert_ne!(p["data"][0]["id"], s["data"][0]["id"]);
    let (status, body) = crm_send(
        Method::POST,
        &sandbox.api_domain,
        &sandbox.access,
        "/Leads",
        Some(json!({"data": [{"Last_Name": "OnlyInSandbox"}]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let sid = body["data"][0]["details"]["id"].as_str().unwrap();
    assert_eq!(crm_get(&sandbox.api_domain, &sandbox.access, &format!("/Leads/{sid}")).await.0, 200);
    assert_eq!(crm_get(&prod.api_domain, &prod.access, &format!("/Leads/{sid}")).await.0, 204);
    // Every DC has its org too.
    let eu = login(&sim, "eu.user@zylker.example", Environment::Production, ALL_SCOPES).await;
    let (_, e) = crm_json(&eu.api_domain, &eu.access, "/Deals").await;
    assert_eq!(e["data"][0]["Owner"]["name"], "EU User");
}

#[tokio::test]
async fn inserts_answer_201_207_or_400_with_per_item_envelopes() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let (status, body) = crm_send(Method::POST, &t.api_domain, &t.access, "/Leads", Some(json!({"data": [{"Last_Name": "Fresh", "First_Name": "Lee", "Salutation": "Mr.", "Company": "Acme", "Email": "lee@acme.example", "No_of_Employees": "12"}], "trigger": ["workflow"]}))).await;
    assert_eq!(status, 201, "{body}");
    assert_same_shape(&body, &fixture("records_insert_response.json"), "insert");
    assert_eq!(body["data"][0]["message"], "record added");
    let id = body["data"][0]["details"]["id"].as_str().unwrap().to_owned();
    let (_, got) = crm_json(&t.api_domain, &t.access, &format!("/Leads/{id}")).await;
    let rec = &got["data"][0];
    assert_same_shape(rec, &fixture("records_leads_search.json")["data"][0], "inserted");
    assert_eq!(
        (rec["Full_Name"].as_str(), rec["No_of_Employees"].as_i64(), rec["Owner"]["name"].as_str()),
        (Some("Mr. Lee Fresh"), Some(12), Some("Patricia Boyle"))
    );
    assert_eq!(rec["Created_Time"], body["data"][0]["details"]["Created_Time"]);
    // Mixed: 207; every error is a per-item envelope.
    let (status, body) = crm_send(Method::POST, &t.api_domain, &t.access, "/Leads", Some(json!({"data": [{"Last_Name": "Ok"}, {"First_Name": "NoLast"}, {"Last_Name": "BadEmail", "Email": "nope"}, {"Last_Name": "BadNumber", "No_of_Employees": "many"}]}))).await;
    assert_eq!(status, 207, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(
        data[1],
        json!({"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name"}, "message": "required field not found", "status": "error"})
    );
    assert_eq!(
        (data[2]["code"].as_str(), data[2]["details"]["api_name"].as_str()),
        (Some("INVALID_DATA"), Some("Email"))
    );
    assert_eq!(
        (data[3]["code"].as_str(), data[3]["details"]["expected_data_type"].as_str()),
        (Some("INVALID_DATA"), Some("integer"))
    );
    // All failed: 400.
    assert_eq!(
        crm_send(Method::POST, &t.api_domain, &t.access, "/Deals", Some(json!({"data": [{"Deal_Name": "No stage"}]})))
            .await
            .0,
        400
    );
    // Over 100 records, missing data, broken JSON.
    let many: Vec<Value> = (0..101).map(|i| json!({"Last_Name": format!("L{i}")})).collect();
    let (status, body) = crm_send(Method::POST, &t.api_domain, &t.access, "/Leads", Some(json!({"data": many}))).await;
    assert_eq!((status, body["code"].as_str(), body["status"].as_str()), (400, Some("LIMIT_EXCEEDED"), Some("error")));
    let hundred: Vec<Value> = (0..100).map(|i| json!({"Last_Name": format!("L{i}")})).collect();
    assert_eq!(crm_send(Method::POST, &t.api_domain, &t.access, "/Leads", Some(json!({"data": hundred}))).await.0, 201);
    assert_eq!(
        crm_send(Method::POST, &t.api_domain, &t.access, "/Leads", Some(json!({"trigger": []}))).await.1["code"],
        "REQUIRED_PARAM_MISSING"
    );
    let resp = client()
        .post(format!("{}/crm/v2/Leads", t.api_domain))
        .header("Authorization", format!("Zoho-oauthtoken {}", t.access))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn updates_and_deletes_answer_200_with_per_item_envelopes() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let (_, page) = crm_json(&t.api_domain, &t.access, "/Contacts?per_page=4").await;
    let ids: Vec<String> =
        page["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    sim.advance(Duration::from_secs(5));
    let (status, body) = crm_send(
        Method::PUT,
        &t.api_domain,
        &t.access,
        "/Contacts",
        Some(json!({"data": [{"id": ids[0], "Title": "Chief"}, {"id": ids[1], "Department": "R&D"}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_same_shape(&body, &fixture("records_update_response.json"), "update");
    assert_eq!(body["data"][1]["message"], "record updated");
    assert_ne!(body["data"][0]["details"]["Modified_Time"], body["data"][0]["details"]["Created_Time"]);
    assert_eq!(
        crm_json(&t.api_domain, &t.access, &format!("/Contacts/{}", ids[0])).await.1["data"][0]["Title"],
        "Chief"
    );
    let (status, body) = crm_send(
        Method::PUT,
        &t.api_domain,
        &t.access,
        &format!("/Contacts/{}", ids[2]),
        Some(json!({"data": [{"Last_Name": "Solo"}]})),
    )
    .await;
    assert_eq!((status, body["data"][0]["details"]["id"].as_str()), (200, Some(ids[2].as_str())));
    let (status, body) = crm_send(Method::PUT, &t.api_domain, &t.access, "/Contacts", Some(json!({"data": [{"id": ids[0], "Title": "x"}, {"id": "999", "Title": "y"}, {"Title": "no id"}, {"id": ids[1], "Last_Name": ""}]}))).await;
    assert_eq!(status, 207);
    let codes: Vec<&str> = body["data"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND", "MANDATORY_NOT_FOUND"]);
    // Delete many and one.
    let (status, body) =
        crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/Contacts?ids={},{}", ids[0], ids[1]), None).await;
    assert_eq!(status, 200, "{body}");
    assert_same_shape(&body, &fixture("records_delete_response.json"), "delete");
    assert_eq!(
        body["data"][0],
        json!({"code": "SUCCESS", "details": {"id": ids[0]}, "message": "record deleted", "status": "success"})
    );
    let (status, body) =
        crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/Contacts/{}", ids[2]), None).await;
    assert_eq!((status, body["data"][0]["message"].as_str()), (200, Some("record deleted")));
    assert_eq!(crm_get(&t.api_domain, &t.access, &format!("/Contacts/{}", ids[0])).await.0, 204);
    let (status, body) =
        crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/Contacts?ids={},{}", ids[0], ids[3]), None).await;
    assert_eq!(
        (status, body["data"][0]["code"].as_str(), body["data"][1]["code"].as_str()),
        (207, Some("INVALID_DATA"), Some("SUCCESS"))
    );
    assert_eq!(crm_send(Method::DELETE, &t.api_domain, &t.access, "/Contacts?ids=1", None).await.0, 400);
    assert_eq!(
        crm_send(Method::DELETE, &t.api_domain, &t.access, "/Contacts", None).await,
        (
            400,
            json!({"code": "REQUIRED_PARAM_MISSING", "details": {"param_name": "ids"}, "message": "One of the expected parameter is missing", "status": "error"})
        )
    );
    let too_many = (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(
        crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/Contacts?ids={too_many}"), None).await.1["code"],
        "LIMIT_EXCEEDED"
    );
    // The recycle bin, newest first.
    let (status, deleted) = crm_json(&t.api_domain, &t.access, "/Contacts/deleted").await;
    assert_eq!((status, deleted["info"]["count"].as_u64()), (200, Some(4)));
    assert_eq!(deleted["data"][0]["id"], json!(ids[3]));
    for k in ["id", "display_name", "type", "deleted_time", "deleted_by", "created_by"] {
        assert!(deleted["data"][0].get(k).is_some(), "{k}");
    }
    assert_eq!(crm_get(&t.api_domain, &t.access, "/Contacts/deleted?type=permanent").await.0, 204);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/Accounts/deleted").await.0, 204);
}

#[tokio::test]
async fn upsert_matches_duplicate_check_fields() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let (status, body) = crm_send(Method::POST, &t.api_domain, &t.access, "/Leads/upsert", Some(json!({"data": [{"Last_Name": "Burns", "Email": "BURNS.MARY@xyz.com", "City": "Detroit"}, {"Last_Name": "Brand New", "Email": "brand.new@example.com"}]}))).await;
    assert_eq!(status, 200, "{body}");
    let d = body["data"].as_array().unwrap();
    assert_eq!(
        (d[0]["action"].as_str(), d[0]["duplicate_field"].as_str(), d[0]["message"].as_str()),
        (Some("update"), Some("Email"), Some("record updated"))
    );
    assert_eq!(
        (d[1]["action"].as_str(), d[1]["duplicate_field"].clone(), d[1]["message"].as_str()),
        (Some("insert"), Value::Null, Some("record added"))
    );
    let (_, burns) = crm_json(&t.api_domain, &t.access, "/Leads/search?email=burns.mary@xyz.com").await;
    assert_eq!((burns["info"]["count"].as_u64(), burns["data"][0]["City"].as_str()), (Some(1), Some("Detroit")));
    // Explicit duplicate_check_fields.
    let (_, body) = crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/Leads/upsert",
        Some(json!({"data": [{"Last_Name": "Brand New", "Company": "X"}], "duplicate_check_fields": ["Last_Name"]})),
    )
    .await;
    assert_eq!(body["data"][0]["action"], "update");
    assert_eq!(
        crm_send(
            Method::POST,
            &t.api_domain,
            &t.access,
            "/Leads/upsert",
            Some(json!({"data": [{"Last_Name": "x"}], "duplicate_check_fields": ["Nope"]}))
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn search_supports_criteria_email_phone_and_word() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    let fixture_body = fixture("records_leads_search.json");
    let search = |q: &str| {
        let (api, token, q) = (t.api_domain.clone(), t.access.clone(), q.to_owned());
        async move {
            let resp = client()
                .get(format!("{api}/crm/v2/Leads/search"))
                .query(&[("criteria", q.as_str())])
                .header("Authorization", format!("Zoho-oauthtoken {token}"))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, if text.is_empty() { Value::Null } else { serde_json::from_str::<Value>(&text).unwrap() })
        }
    };
    // Zoho's own sample: an escaped comma.
    let (status, body) = search("((Last_Name:equals:Burns\\,B)and(First_Name:starts_with:M))").await;
    assert_eq!(status, 200, "{body}");
    assert_same_shape(&body, &fixture_body, "search");
    assert_eq!(body["info"], fixture_body["info"]);
    let mary = &body["data"][0];
    for k in ["Email", "Company", "City", "Last_Name", "Full_Name", "Phone", "Lead_Source", "Tag"] {
        if k != "Tag" && k != "Full_Name" {
            assert_eq!(mary[k], fixture_body["data"][0][k], "{k}");
        }
    }
    assert_eq!(mary["Tag"][0]["name"], "Pharma");
    // Without the escape the comma separates alternatives: "Burns" or "B".
    assert_eq!(search("(Last_Name:equals:Burns,B)").await.0, 204);
    // starts_with is case-insensitive; or; unescaped commas are alternatives.
    let (_, body) = search("(City:equals:kent,CHICAGO)").await;
    assert!(
        body["data"].as_array().unwrap().iter().all(|r| ["Kent", "Chicago"].contains(&r["City"].as_str().unwrap()))
    );
    let (_, or) = search("((City:equals:Kent)or(City:equals:Chicago))").await;
    assert_eq!(or["info"]["count"], body["info"]["count"]);
    let (_, sw) = search("(Company:starts_with:feltz)").await;
    assert!(sw["info"]["count"].as_u64().unwrap() > 1);
    // Escaped parentheses in a value.
    crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/Leads",
        Some(json!({"data": [{"Last_Name": "Paren", "Company": "Acme (West)"}]})),
    )
    .await;
    assert_eq!(search("(Company:equals:Acme \\(West\\))").await.1["data"][0]["Last_Name"], "Paren");
    // Nothing found: 204. Bad criteria: 400 INVALID_QUERY.
    assert_eq!(search("(Last_Name:equals:Nobody At All)").await, (204, Value::Null));
    for bad in ["Last_Name:equals:x", "(Last_Name:greater_than:1)", "(Nope:equals:1)", "((A:equals:1)"] {
        let (status, body) = search(bad).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_QUERY")), "{bad}");
    }
    // email, phone, word.
    let (_, e) = crm_json(&t.api_domain, &t.access, "/Leads/search?email=burns.mary%40xyz.com").await;
    assert_eq!(e["data"][0]["Last_Name"], "Burns,B");
    let (_, p) = crm_json(&t.api_domain, &t.access, "/Leads/search?phone=555-555-5555").await;
    assert_eq!(p["info"]["count"], 1);
    let (_, w) = crm_json(&t.api_domain, &t.access, "/Leads/search?word=Blue%20Ridge").await;
    assert_eq!(w["data"][0]["Street"], "4 B Blue Ridge Blvd");
    let (_, paged) = crm_json(&t.api_domain, &t.access, "/Leads/search?word=example.com&per_page=50&page=2").await;
    assert_eq!(paged["info"], json!({"per_page": 50, "count": 50, "page": 2, "more_records": true}));
    assert_eq!(crm_json(&t.api_domain, &t.access, "/Leads/search").await.1["code"], "REQUIRED_PARAM_MISSING");
}

#[tokio::test]
async fn zoho_error_envelopes_for_modules_urls_methods_and_permissions() {
    let sim = Simulator::start().await.unwrap();
    let t = admin(&sim).await;
    assert_eq!(crm_json(&t.api_domain, &t.access, "/Nonexistent").await, (400, fixture("error_invalid_module.json")));
    assert_eq!(crm_json(&t.api_domain, &t.access, "/Home").await, (400, fixture("error_invalid_module.json")));
    let not_found = json!({"code": "INVALID_URL_PATTERN", "details": {}, "message": "Please check if the URL trying to access is a correct one", "status": "error"});
    for path in ["/Leads/1/2/3", "/settings/nothing", "/users/1/x"] {
        assert_eq!(crm_json(&t.api_domain, &t.access, path).await, (404, not_found.clone()), "{path}");
    }
    let resp = client()
        .get(format!("{}/crm/v3/Leads", t.api_domain))
        .header("Authorization", format!("Zoho-oauthtoken {}", t.access))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let (status, body) = crm_send(Method::PATCH, &t.api_domain, &t.access, "/Leads", None).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST_METHOD")));
    // NO_PERMISSION: Jane's profile cannot see Deals; denied Leads gives exactly Zoho's sample.
    let jane = login(&sim, "jane.jones@zylker.example", Environment::Production, ALL_SCOPES).await;
    let (status, body) = crm_json(&jane.api_domain, &jane.access, "/Deals").await;
    assert_eq!((status, body["details"]["permissions"].clone()), (403, json!(["Crm_Implied_View_Deals"])));
    assert!(sim.deny_module("jane.jones@zylker.example", "Leads"));
    assert_eq!(crm_json(&jane.api_domain, &jane.access, "/Leads").await, (403, fixture("error_no_permission.json")));
    let (status, body) =
        crm_send(Method::POST, &jane.api_domain, &jane.access, "/Leads", Some(json!({"data": [{"Last_Name": "x"}]})))
            .await;
    assert_eq!((status, body["details"]["permissions"][0].as_str()), (403, Some("Crm_Implied_Create_Leads")));
    assert_eq!(crm_get(&jane.api_domain, &jane.access, "/Contacts?per_page=1").await.0, 200);
    assert!(sim.count(Route::Records) >= 5);
}
