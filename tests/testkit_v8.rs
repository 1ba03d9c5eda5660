//! The simulator's CRM v8 side over real HTTP: page tokens past 2,000 records (5,000 EU sandbox
//! Leads), required and limited `fields`, writes, search, count, COQL (operators, order,
//! limit/offset, errors, quoting), scopes, faults and the v8 fixtures' key paths.
#![cfg(feature = "testkit")]

mod testkit_common;

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use testkit_common::{client, login};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{Fault, Route, SimConfig, Simulator};

const EU: &str = "eu.user@zylker.example";
const PATRICIA: &str = "patricia.boyle@zylker.example";
const V8_SCOPES: &[&str] = &[
    "ZohoCRM.users.ALL",
    "ZohoCRM.org.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.modules.ALL",
    "ZohoSearch.securesearch.READ",
    "ZohoCRM.coql.READ",
];

/// (api_domain, access token) minted directly.
fn token(sim: &Simulator, email: &str, env: Environment, scopes: &[&str]) -> (String, String) {
    let t = sim.issue_tokens(email, env, scopes).unwrap();
    (t.api_domain, t.access_token.expose().to_owned())
}

/// Sends `method` to `{base}/crm/v8{path}`; (status, JSON or Null).
async fn v8(method: Method, base: &str, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = client()
        .request(method, format!("{base}/crm/v8{path}"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        },
    )
}

async fn get(base: &str, token: &str, path: &str) -> (u16, Value) {
    v8(Method::GET, base, token, path, None).await
}

async fn coql(base: &str, token: &str, q: &str) -> (u16, Value) {
    v8(Method::POST, base, token, "/coql", Some(json!({ "select_query": q }))).await
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/zoho_v8/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every key path of a JSON value (`a.b`, arrays as `a[].b`, every element).
fn paths(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, at: &str, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                    out.insert(p.clone());
                    walk(x, &p, out);
                }
            }
            Value::Array(a) => {
                for x in a {
                    walk(x, &format!("{at}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}

/// Asserts every key path of the fixture is in the answer.
fn assert_covers(actual: &Value, fixture_name: &str) {
    let want = paths(&fixture(fixture_name));
    let have = paths(actual);
    let missing: Vec<&String> = want.difference(&have).collect();
    assert!(missing.is_empty(), "{fixture_name}: missing key paths {missing:?}");
}

/// Asserts every key path under `key` of the fixture is under `key` of the answer.
fn assert_covers_part(actual: &Value, fixture_name: &str, key: &str) {
    let want = paths(&fixture(fixture_name)[key]);
    let have = paths(&actual[key]);
    let missing: Vec<&String> = want.difference(&have).collect();
    assert!(missing.is_empty(), "{fixture_name} `{key}`: missing key paths {missing:?}");
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|a| a.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn five_thousand_eu_sandbox_leads_page_to_2000_then_page_tokens_to_the_end() {
    let sim = Simulator::start_with(SimConfig { other_org_records: 0, ..Default::default() }).await.unwrap();
    let seeded = Instant::now();
    assert_eq!(sim.seed_records(DataCenter::Eu, Environment::Sandbox, "Leads", 5000).unwrap(), 5000);
    let seed_time = seeded.elapsed();
    let (base, t) = token(&sim, EU, Environment::Sandbox, V8_SCOPES);
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    let mut last_info = Value::Null;
    for page in 1..=10 {
        let (s, body) = get(&base, &t, &format!("/Leads?fields=Last_Name,Email&per_page=200&page={page}")).await;
        assert_eq!(s, 200, "page {page}: {body}");
        assert_eq!(body["data"].as_array().unwrap().len(), 200);
        assert_eq!(body["info"]["page"], page);
        assert_eq!(body["info"]["more_records"], true);
        assert!(body["info"]["next_page_token"].is_string());
        assert_eq!(body["info"]["previous_page_token"].is_string(), page > 1);
        for r in body["data"].as_array().unwrap() {
            let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, BTreeSet::from(["Email", "Last_Name", "id"]));
        }
        seen.extend(ids(&body));
        last_info = body["info"].clone();
    }
    assert_covers_part(&json!({ "info": last_info }), "records_list_page_token.json", "info");
    // Page 11 is past the 2,000 records `page` reaches.
    let (s, body) = get(&base, &t, "/Leads?fields=Last_Name,Email&per_page=200&page=11").await;
    assert_eq!((s, body), (400, fixture("error_discrete_pagination_limit.json")));
    // Page tokens to the end.
    let mut next = last_info["next_page_token"].as_str().unwrap().to_owned();
    let mut calls = 10;
    loop {
        let (s, body) = get(&base, &t, &format!("/Leads?fields=Last_Name,Email&per_page=200&page_token={next}")).await;
        assert_eq!(s, 200, "{body}");
        calls += 1;
        seen.extend(ids(&body));
        let info = &body["info"];
        assert!(info["page_token_expiry"].is_string());
        if info["more_records"] == false {
            assert!(info["next_page_token"].is_null());
            assert_eq!(info["page"], 25);
            break;
        }
        next = info["next_page_token"].as_str().unwrap().to_owned();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "5,000 leads: seeded in {seed_time:?}; listed in {calls} calls (10 pages + {} page tokens) in {elapsed:?}",
        calls - 10
    );
    assert_eq!(seen.len(), 5000);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 5000, "every id exactly once");
    // Newest first by default (ids grow).
    assert!(seen.first().unwrap() > seen.last().unwrap());
    // Count agrees.
    let (s, body) = get(&base, &t, "/Leads/actions/count").await;
    assert_eq!((s, body.clone()), (200, json!({"count": 5000})));
    assert_covers(&body, "records_count.json");
    // Other orgs are untouched.
    let (base_us, t_us) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    assert_eq!(get(&base_us, &t_us, "/Leads/actions/count").await.1, json!({"count": 260}));
}

#[tokio::test]
async fn fields_are_required_and_limited_and_paging_params_checked() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    let (s, body) = get(&base, &t, "/Leads").await;
    assert_eq!((s, body["code"].as_str()), (400, Some("REQUIRED_PARAM_MISSING")));
    assert_eq!(body["details"], json!({"param_name": "fields"}));
    assert_eq!(get(&base, &t, "/Leads?fields=").await.1["code"], "REQUIRED_PARAM_MISSING");
    // 50 fields are fine (repeats count), 51 are not.
    let fifty = vec!["Last_Name"; 50].join(",");
    assert_eq!(get(&base, &t, &format!("/Leads?fields={fifty}")).await.0, 200);
    let (s, body) = get(&base, &t, &format!("/Leads?fields={fifty},Email")).await;
    assert_eq!((s, body["code"].as_str()), (400, Some("LIMIT_EXCEEDED")));
    assert_eq!(body["details"]["limit"], 50);
    let (s, body) = get(&base, &t, "/Leads?fields=Last_Name,Nope").await;
    assert_eq!(
        (s, body["code"].as_str(), body["details"]["api_name"].as_str()),
        (400, Some("INVALID_DATA"), Some("Nope"))
    );
    assert_eq!(get(&base, &t, "/Leads?fields=Last_Name&per_page=201").await.0, 400);
    assert_eq!(get(&base, &t, "/Leads?fields=Last_Name&sort_by=Email").await.0, 400);
    assert_eq!(get(&base, &t, "/Leads?fields=Last_Name&page=1&page_token=abc").await.0, 400);
    // per_page 100 × page 20 = 2,000 is the last reachable page; 21 is not.
    let (s, body) = get(&base, &t, "/Leads?fields=Last_Name&per_page=100&page=20").await;
    assert_eq!(s, 204, "260 leads end before page 20: {body}");
    assert_eq!(
        get(&base, &t, "/Leads?fields=Last_Name&per_page=100&page=21").await.1["code"],
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    );
    // Sorting by Created_Time ascending.
    let (s, body) = get(&base, &t, "/Leads?fields=Created_Time&sort_by=Created_Time&sort_order=asc&per_page=5").await;
    assert_eq!(s, 200);
    assert_eq!(body["info"]["sort_by"], "Created_Time");
    assert_eq!(body["info"]["sort_order"], "asc");
    let times: Vec<&str> =
        body["data"].as_array().unwrap().iter().map(|r| r["Created_Time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // v2 keeps `fields` optional.
    let (s, _) = testkit_common::crm_json(&base, &t, "/Leads?per_page=1").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn page_tokens_are_bound_to_their_query_and_user_and_expire_after_24_hours() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    let (_, body) = get(&base, &t, "/Leads?fields=Last_Name&per_page=100").await;
    let next = body["info"]["next_page_token"].as_str().unwrap().to_owned();
    let page2 = |fields: &str| format!("/Leads?fields={fields}&per_page=100&page_token={next}");
    // Another query: other fields, per_page or sort.
    for path in [
        page2("Email"),
        format!("/Leads?fields=Last_Name&per_page=50&page_token={next}"),
        format!("/Leads?fields=Last_Name&per_page=100&sort_order=asc&page_token={next}"),
    ] {
        let (s, body) = get(&base, &t, &path).await;
        assert_eq!((s, body["code"].as_str()), (400, Some("INVALID_DATA")), "{path}");
        assert_eq!(body["details"]["param_name"], "page_token");
        assert_eq!(body["details"]["reason"], "mismatch");
    }
    // Another user of the same org.
    let (_, t2) = token(&sim, "tom.jenkins@zylker.example", Environment::Production, V8_SCOPES);
    assert_eq!(get(&base, &t2, &page2("Last_Name")).await.1["details"]["reason"], "mismatch");
    // Unknown.
    let (s, body) = get(&base, &t, "/Leads?fields=Last_Name&per_page=100&page_token=0123abcd").await;
    assert_eq!((s, body["details"]["reason"].as_str()), (400, Some("invalid")));
    // Same query: page 2, also with the fields in another order.
    let (s, body) = get(&base, &t, &page2("Last_Name")).await;
    assert_eq!((s, body["info"]["page"].as_i64()), (200, Some(2)));
    // 24 hours on the simulated clock: expired (a fresh access token, the old one died at 1 h).
    sim.advance(Duration::from_secs(24 * 3600 - 1));
    let (_, t) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    assert_eq!(get(&base, &t, &page2("Last_Name")).await.0, 200, "alive one second before 24 h");
    sim.advance(Duration::from_secs(1));
    let (s, body) = get(&base, &t, &page2("Last_Name")).await;
    assert_eq!(
        (s, body["code"].as_str(), body["details"]["reason"].as_str()),
        (400, Some("INVALID_DATA"), Some("expired"))
    );
}

#[tokio::test]
async fn writes_answer_201_207_400_with_per_record_data_and_reads_have_v8_shapes() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, EU, Environment::Production, V8_SCOPES);
    let (s, body) = v8(
        Method::POST,
        &base,
        &t,
        "/Leads",
        Some(json!({"data": [{"Last_Name": "One", "Company": "Zylker"}, {"Last_Name": "Two"}]})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_covers(&body, "records_insert_response.json");
    let new_ids: Vec<String> =
        body["data"].as_array().unwrap().iter().map(|r| r["details"]["id"].as_str().unwrap().to_owned()).collect();
    let (s, body) = v8(
        Method::POST,
        &base,
        &t,
        "/Leads",
        Some(json!({"data": [{"Last_Name": "Three"}, {"Company": "no last name"}]})),
    )
    .await;
    assert_eq!(s, 207);
    assert_eq!(body["data"][1]["code"], "MANDATORY_NOT_FOUND");
    let (s, body) =
        v8(Method::POST, &base, &t, "/Leads", Some(json!({"data": [{"Email": "x"}, {"Email": "y"}]}))).await;
    assert_eq!(s, 400);
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert!(body["data"].as_array().unwrap().iter().all(|r| r["status"] == "error"));
    // Update, upsert.
    let (s, body) =
        v8(Method::PUT, &base, &t, "/Leads", Some(json!({"data": [{"id": new_ids[0], "City": "Berlin"}]}))).await;
    assert_eq!((s, body["data"][0]["message"].as_str()), (200, Some("record updated")));
    let (s, body) = v8(
        Method::POST,
        &base,
        &t,
        "/Leads/upsert",
        Some(json!({"data": [{"Last_Name": "Up", "Email": "up@example.com"}]})),
    )
    .await;
    assert_eq!((s, body["data"][0]["action"].as_str()), (200, Some("insert")));
    // Get by id: the full v8 record, key for key with Zoho's sample.
    let (s, body) = get(&base, &t, &format!("/Leads/{}", new_ids[0])).await;
    assert_eq!(s, 200);
    assert_eq!(body["data"][0]["City"], "Berlin");
    assert_eq!(body["data"][0]["Owner"]["email"], EU);
    assert_covers_part(&body, "records_leads_search.json", "data");
    // Get by id with fields.
    let (_, body) = get(&base, &t, &format!("/Leads/{}?fields=City", new_ids[0])).await;
    assert_eq!(body["data"][0], json!({"City": "Berlin", "id": new_ids[0]}));
    // Delete by ids (≤ 100), then the deleted list.
    let (s, body) = v8(Method::DELETE, &base, &t, &format!("/Leads?ids={}", new_ids.join(",")), None).await;
    assert_eq!((s, body["data"][1]["message"].as_str()), (200, Some("record deleted")));
    let many = vec!["1"; 101].join(",");
    assert_eq!(v8(Method::DELETE, &base, &t, &format!("/Leads?ids={many}"), None).await.1["code"], "LIMIT_EXCEEDED");
    let (s, body) = get(&base, &t, "/Leads/deleted?type=recycle").await;
    assert_eq!(s, 200);
    assert!(ids(&body).contains(&new_ids[1]));
    assert_eq!(get(&base, &t, &format!("/Leads/{}", new_ids[0])).await.0, 204);
}

#[tokio::test]
async fn search_and_count_take_criteria_email_phone_and_word() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    let (s, body) = get(&base, &t, "/Leads/search?criteria=(Last_Name:equals:Burns%5C,B)").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_covers(&body, "records_leads_search.json");
    for (q, n) in [
        ("criteria=(Last_Name:equals:Burns%5C,B)", 1),
        ("email=burns.mary@xyz.com", 1),
        ("phone=555-555-5555", 1),
        ("word=Burns", 1),
        ("criteria=(Lead_Source:equals:Twitter)", -1),
    ] {
        let (s, body) = get(&base, &t, &format!("/Leads/actions/count?{q}")).await;
        assert_eq!(s, 200, "{q}: {body}");
        let c = body["count"].as_i64().unwrap();
        if n >= 0 {
            assert_eq!(c, n, "{q}");
        } else {
            let (_, found) = get(&base, &t, "/Leads/search?criteria=(Lead_Source:equals:Twitter)&per_page=200").await;
            assert_eq!(c as usize, found["data"].as_array().unwrap().len());
        }
    }
    let (s, body) = get(&base, &t, "/Leads/actions/count?cvid=1&word=Burns").await;
    assert_eq!((s, body["code"].as_str()), (400, Some("AMBIGUITY_DURING_PROCESSING")));
    assert_eq!(get(&base, &t, "/Nope/actions/count").await.1["code"], "INVALID_MODULE");
    assert_eq!(get(&base, &t, "/Leads/actions/count?criteria=(Nope:equals:1)").await.1["code"], "INVALID_QUERY");
}

/// Every lead of the US production org with the columns the COQL test filters on.
async fn all_leads(base: &str, t: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let (s, body) = get(base, t, &format!("/Leads?fields=Last_Name,First_Name,No_of_Employees,Lead_Source,City,Annual_Revenue,Email,Owner&per_page=200&page={page}&sort_order=asc")).await;
        if s == 204 {
            break;
        }
        out.extend(body["data"].as_array().unwrap().iter().cloned());
        if body["info"]["more_records"] == false {
            break;
        }
    }
    out
}

fn set(v: &[Value], keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    v.iter().filter(|r| keep(r)).map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

async fn coql_ids(base: &str, t: &str, q: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut offset = 0;
    loop {
        let (s, body) = coql(base, t, &format!("{q} limit {offset}, 2000")).await;
        if s == 204 {
            return out;
        }
        assert_eq!(s, 200, "{q}: {body}");
        out.extend(ids(&body));
        if body["info"]["more_records"] == false {
            return out;
        }
        offset += 2000;
    }
}

#[tokio::test]
async fn coql_supports_each_operator_order_limit_offset_and_quoting() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    let leads = all_leads(&base, &t).await;
    assert_eq!(leads.len(), 260);
    fn n(r: &Value) -> i64 {
        r["No_of_Employees"].as_i64().unwrap_or(-1)
    }
    fn s(r: &Value, k: &str) -> String {
        r[k].as_str().unwrap_or_default().to_lowercase()
    }
    let sel = "select Last_Name, First_Name from Leads where";
    type Case<'a> = (&'a str, Box<dyn Fn(&Value) -> bool>);
    let cases: Vec<Case<'_>> = vec![
        ("Lead_Source = 'Twitter'", Box::new(|r| s(r, "Lead_Source") == "twitter")),
        ("Lead_Source != 'Twitter'", Box::new(|r| !r["Lead_Source"].is_null() && s(r, "Lead_Source") != "twitter")),
        ("No_of_Employees < 100", Box::new(move |r| n(r) >= 0 && n(r) < 100)),
        ("No_of_Employees > 400", Box::new(move |r| n(r) > 400)),
        ("No_of_Employees <= 18", Box::new(move |r| n(r) >= 0 && n(r) <= 18)),
        ("No_of_Employees >= 490", Box::new(move |r| n(r) >= 490)),
        ("No_of_Employees between 100 and 200", Box::new(move |r| (100..=200).contains(&n(r)))),
        ("Last_Name like 'Mac%'", Box::new(|r| s(r, "Last_Name").starts_with("mac"))),
        ("Last_Name like '%er'", Box::new(|r| s(r, "Last_Name").ends_with("er"))),
        ("Last_Name like '%ll%'", Box::new(|r| s(r, "Last_Name").contains("ll"))),
        ("Last_Name not like 'Mac%'", Box::new(|r| !s(r, "Last_Name").starts_with("mac"))),
        ("City in ('Kent', 'Chicago')", Box::new(|r| ["kent", "chicago"].contains(&s(r, "City").as_str()))),
        (
            "City not in ('Kent', 'Chicago')",
            Box::new(|r| !r["City"].is_null() && !["kent", "chicago"].contains(&s(r, "City").as_str())),
        ),
        ("City is null", Box::new(|r| r["City"].is_null())),
        ("City is not null", Box::new(|r| !r["City"].is_null())),
        ("(City = 'Kent' and No_of_Employees > 200)", Box::new(move |r| s(r, "City") == "kent" && n(r) > 200)),
        ("(City = 'Kent' or City = 'Chicago')", Box::new(|r| s(r, "City") == "kent" || s(r, "City") == "chicago")),
        (
            "((City = 'Kent' or City = 'Chicago') and (No_of_Employees < 100 or Lead_Source = 'Twitter'))",
            Box::new(move |r| {
                (s(r, "City") == "kent" || s(r, "City") == "chicago")
                    && ((n(r) >= 0 && n(r) < 100) || s(r, "Lead_Source") == "twitter")
            }),
        ),
        ("Owner = '3652397000000900000'", Box::new(|r| r["Owner"]["id"] == "3652397000000900000")),
        ("Owner.name = 'Patricia Boyle'", Box::new(|r| r["Owner"]["name"] == "Patricia Boyle")),
    ];
    for (cond, keep) in &cases {
        let want = set(&leads, keep);
        let got = coql_ids(&base, &t, &format!("{sel} {cond}")).await;
        assert_eq!(got, want, "{cond}");
        assert!(!want.is_empty() || cond.contains("is null"), "the case `{cond}` should select something");
    }
    // Order, limit, offset, the answer's shape.
    let (st, body) = coql(&base, &t, "select Last_Name, First_Name from Leads where No_of_Employees > 0 order by No_of_Employees desc, Last_Name asc limit 5").await;
    assert_eq!(st, 200);
    assert_covers(&body, "coql_response.json");
    assert_eq!(body["info"], json!({"count": 5, "more_records": true}));
    let mut by_size: Vec<&Value> = leads.iter().filter(|r| n(r) > 0).collect();
    by_size.sort_by(|a, b| {
        n(b).cmp(&n(a))
            .then_with(|| s(a, "Last_Name").cmp(&s(b, "Last_Name")))
            .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
    });
    let top: Vec<String> = by_size.iter().take(5).map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids(&body), top);
    let (_, body) = coql(&base, &t, "select Last_Name from Leads where No_of_Employees > 0 order by No_of_Employees desc, Last_Name asc limit 3 offset 2").await;
    assert_eq!(ids(&body), top[2..5].to_vec());
    let (_, body) = coql(
        &base,
        &t,
        "select Last_Name from Leads where No_of_Employees > 0 order by No_of_Employees desc, Last_Name asc limit 2, 3",
    )
    .await;
    assert_eq!(ids(&body), top[2..5].to_vec(), "LIMIT offset, count");
    // Default order is id ascending, default limit 200, no WHERE needed.
    let (_, body) = coql(&base, &t, "select Last_Name from Leads").await;
    assert_eq!(body["info"], json!({"count": 200, "more_records": true}));
    let got = ids(&body);
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(got, sorted);
    // COUNT(*) with and without alias.
    let (_, body) = coql(&base, &t, "select COUNT(*) from Leads where City = 'Kent'").await;
    assert_eq!(body["data"][0]["COUNT(*)"], set(&leads, |r| s(r, "City") == "kent").len());
    let (_, body) = coql(&base, &t, "select count(id) as total from Leads").await;
    assert_eq!(body["data"][0]["total"], 260);
    // Nothing found: 204.
    assert_eq!(coql(&base, &t, "select Last_Name from Leads where Last_Name = 'Nobody'").await.0, 204);
    // Quotes inside values: \' and '' both escape.
    let (st, _) =
        v8(Method::POST, &base, &t, "/Leads", Some(json!({"data": [{"Last_Name": "O'Brien", "First_Name": "Pat"}]})))
            .await;
    assert_eq!(st, 201);
    for q in [
        r"select Last_Name, First_Name from Leads where Last_Name = 'O\'Brien'",
        "select Last_Name, First_Name from Leads where Last_Name = 'O''Brien'",
    ] {
        let (st, body) = coql(&base, &t, q).await;
        assert_eq!(st, 200, "{q}: {body}");
        assert_eq!(body["data"][0]["Last_Name"], "O'Brien");
        assert_eq!(body["data"][0]["First_Name"], "Pat");
    }
    // Lookup columns answer {id}; dotted columns their field.
    let (_, body) = coql(&base, &t, "select Owner, Owner.name from Leads limit 1").await;
    assert_eq!(body["data"][0]["Owner"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["id"]);
    assert_eq!(body["data"][0]["Owner.name"], "Patricia Boyle");
}

#[tokio::test]
async fn coql_errors_carry_zoho_codes() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, PATRICIA, Environment::Production, V8_SCOPES);
    let (st, body) = coql(&base, &t, "select Last_Name Leads").await;
    assert_eq!((st, body), (400, fixture("error_coql_syntax.json")));
    for (q, code, details) in [
        ("select Last_Name", "SYNTAX_ERROR", json!({"clause": "from"})),
        ("Last_Name from Leads", "SYNTAX_ERROR", json!({"clause": "select"})),
        ("select Last_Name from Leads where a = 1 and b = 2 and c = 3", "SYNTAX_ERROR", Value::Null),
        ("select Last_Name from Leads where Last_Name = 'open", "SYNTAX_ERROR", Value::Null),
        ("select * from Leads", "SYNTAX_ERROR", Value::Null),
        ("select Nope from Leads", "INVALID_QUERY", json!({"column_name": "Nope"})),
        ("select Last_Name from Leads where Nope = 1", "INVALID_QUERY", json!({"column_name": "Nope"})),
        (
            "select Last_Name from Leads where No_of_Employees = 'many'",
            "INVALID_QUERY",
            json!({"column_name": "No_of_Employees"}),
        ),
        ("select Last_Name from Leads where No_of_Employees like '1%'", "INVALID_QUERY", Value::Null),
        ("select Last_Name from Nope", "INVALID_QUERY", Value::Null),
        ("select Last_Name from Leads limit 2001", "LIMIT_EXCEEDED", json!({"clause": "limit", "limit": 2000})),
        (
            "select Last_Name from Leads limit 2000 offset 98001",
            "LIMIT_EXCEEDED",
            json!({"clause": "offset", "limit": 100000}),
        ),
        ("select COUNT(*) as 'my total' from Leads", "INVALID_ALIAS", Value::Null),
        ("select COUNT(*) as a, COUNT(id) as a from Leads", "DUPLICATE_ALIAS", Value::Null),
        ("select Last_Name, last_name from Leads", "DUPLICATE_DATA", Value::Null),
        ("select Last_Name, COUNT(*) from Leads", "INVALID_QUERY", Value::Null),
    ] {
        let (st, body) = coql(&base, &t, q).await;
        assert_eq!((st, body["code"].as_str()), (400, Some(code)), "{q}: {body}");
        assert_eq!(body["status"], "error");
        if !details.is_null() {
            for (k, v) in details.as_object().unwrap() {
                assert_eq!(&body["details"][k], v, "{q}: {body}");
            }
        }
    }
    let twenty_six = (0..26).map(|i| format!("(City = 'c{i}' or")).collect::<String>();
    let q = format!("select Last_Name from Leads where {twenty_six} City = 'x'{}", ")".repeat(26));
    assert_eq!(coql(&base, &t, &q).await.1["code"], "LIMIT_EXCEEDED");
    assert_eq!(coql(&base, &t, "select Last_Name from Leads limit 2000 offset 98000").await.0, 204);
    let (st, body) = v8(Method::POST, &base, &t, "/coql", Some(json!({}))).await;
    assert_eq!((st, body["code"].as_str()), (400, Some("REQUIRED_PARAM_MISSING")));
    assert_eq!(v8(Method::GET, &base, &t, "/coql", None).await.1["code"], "INVALID_REQUEST_METHOD");
    // A module the user's profile may not see.
    let (base, t) = token(&sim, "jane.jones@zylker.example", Environment::Production, V8_SCOPES);
    assert_eq!(coql(&base, &t, "select Deal_Name from Deals").await.1["code"], "NO_PERMISSION");
}

#[tokio::test]
async fn scopes_are_checked_on_v8_routes() {
    let sim = Simulator::start().await.unwrap();
    // Through the whole consent flow once, as a client would get its token.
    let tk = login(&sim, EU, Environment::Sandbox, "ZohoCRM.modules.Leads.READ").await;
    let (base, t) = (tk.api_domain, tk.access);
    let mismatch = |body: &Value| body["code"] == "OAUTH_SCOPE_MISMATCH";
    assert_eq!(get(&base, &t, "/Leads?fields=Last_Name").await.0, 200);
    assert_eq!(get(&base, &t, "/Leads/actions/count").await.0, 200);
    for path in [
        "/users?type=CurrentUser",
        "/org",
        "/settings/modules",
        "/Contacts?fields=Last_Name",
        "/Contacts/actions/count",
    ] {
        let (s, body) = get(&base, &t, path).await;
        assert!(s == 401 && mismatch(&body), "{path}: {s} {body}");
    }
    // COQL needs ZohoCRM.coql.READ and the module's read scope.
    let (s, body) = coql(&base, &t, "select Last_Name from Leads").await;
    assert!(s == 401 && mismatch(&body), "{body}");
    let (base, t) = token(&sim, EU, Environment::Sandbox, &["ZohoCRM.coql.READ", "ZohoCRM.modules.Leads.READ"]);
    assert_eq!(coql(&base, &t, "select Last_Name from Leads").await.0, 200);
    let (s, body) = coql(&base, &t, "select Last_Name from Contacts").await;
    assert!(s == 401 && mismatch(&body), "{body}");
    // Tokens of another environment do not work here.
    let (_, prod) = token(&sim, EU, Environment::Production, V8_SCOPES);
    assert_eq!(get(&base, &prod, "/Leads?fields=Last_Name").await.1["code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn faults_clock_and_request_log_cover_v8_routes() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, EU, Environment::Sandbox, V8_SCOPES);
    sim.inject(Route::Coql, Fault::Status(503), 1);
    let resp = client()
        .post(format!("{base}/crm/v8/coql"))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .json(&json!({"select_query": "select Last_Name from Leads"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(coql(&base, &t, "select Last_Name from Leads").await.0, 200, "one fault only");
    sim.inject(Route::Records, Fault::TooManyRequests { retry_after_secs: 7 }, 1);
    let resp = client()
        .get(format!("{base}/crm/v8/Leads?fields=Last_Name"))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!((resp.status().as_u16(), resp.headers()["retry-after"].to_str().unwrap()), (429, "7"));
    sim.inject(Route::Users, Fault::DropConnection, 1);
    assert!(
        client()
            .get(format!("{base}/crm/v8/users"))
            .header("Authorization", format!("Zoho-oauthtoken {t}"))
            .send()
            .await
            .is_err()
    );
    // Faults and seeding over the HTTP controls, as other languages use them.
    let ctl = sim.control_url();
    let r = client()
        .post(format!("{ctl}/faults"))
        .json(&json!({"route": "coql", "fault": "status", "status": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, body) = coql(&base, &t, "select Last_Name from Leads").await;
    assert_eq!((s, body["code"].as_str()), (500, Some("INTERNAL_ERROR")));
    let r = client()
        .post(format!("{ctl}/seed"))
        .json(&json!({"dc": "eu", "environment": "sandbox", "module": "Deals", "count": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"module": "Deals", "added": 30, "total": 35}));
    assert_eq!(get(&base, &t, "/Deals/actions/count").await.1, json!({"count": 35}));
    let r = client()
        .post(format!("{ctl}/seed"))
        .json(&json!({"dc": "eu", "module": "Nope", "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The log names v8 routes and paths.
    let log = sim.requests();
    let coqls: Vec<_> = log.iter().filter(|r| r.route == Route::Coql).collect();
    assert_eq!(coqls.len(), 3);
    assert!(
        coqls.iter().all(|r| r.path == "/api/eu/sandbox/crm/v8/coql" && r.environment == Some(Environment::Sandbox))
    );
    assert_eq!(coqls.iter().map(|r| r.status).collect::<Vec<_>>(), vec![503, 200, 500]);
    assert!(log.iter().any(|r| r.route == Route::Users && r.status == 0));
    assert_eq!(sim.count(Route::Coql), 3);
}

#[tokio::test]
async fn users_org_and_metadata_carry_every_v8_key() {
    let sim = Simulator::start().await.unwrap();
    let (base, t) = token(&sim, EU, Environment::Developer, V8_SCOPES);
    let (s, body) = get(&base, &t, "/users?type=CurrentUser").await;
    assert_eq!(s, 200);
    assert_eq!(body["users"][0]["email"], EU);
    assert_covers(&body, "users_list.json");
    let id = body["users"][0]["id"].as_str().unwrap().to_owned();
    let (s, body) = get(&base, &t, &format!("/users/{id}")).await;
    assert_eq!(s, 200);
    assert_covers(
        &json!({"users": body["users"], "info": {"per_page": 1, "count": 1, "page": 1, "more_records": false}}),
        "users_list.json",
    );
    let (s, body) = get(&base, &t, "/org").await;
    assert_eq!(s, 200);
    assert_covers(&body, "org.json");
    assert_eq!(body["org"][0]["currency"], "EUR");
    let (s, body) = get(&base, &t, "/settings/modules").await;
    assert_eq!(s, 200);
    assert_covers(&body, "modules_list.json");
    let leads = body["modules"].as_array().unwrap().iter().find(|m| m["api_name"] == "Leads").unwrap();
    assert!(leads["$properties"].as_array().unwrap().contains(&json!("$review_process")));
    let (s, body) = get(&base, &t, "/settings/modules/Leads").await;
    assert_eq!(s, 200);
    assert_covers(&body, "modules_list.json");
    assert_eq!(body["modules"][0]["layouts"][0]["name"], "Standard");
    let (s, body) = get(&base, &t, "/settings/fields?module=Leads").await;
    assert_eq!(s, 200);
    assert_covers(&body, "fields_list.json");
    let (s, body) = get(&base, &t, "/settings/layouts?module=Leads").await;
    assert_eq!(s, 200);
    assert_covers(&body, "layouts_list.json");
    // v2 answers keep their v2 shape.
    let (_, body) = testkit_common::crm_json(&base, &t, "/users?type=CurrentUser").await;
    assert!(body["users"][0].get("sort_order_preference__s").is_none());
}
