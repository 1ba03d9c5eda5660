//! What the CLI prints and exits with when Zoho does only part of the work: a batched write
//! or a listing that fails partway, a raw `api` write Zoho refuses, a login whose scopes do
//! not reach the user, and a COQL query's every selected column.

mod common;

use std::time::Duration;

use common::{EU_USER, World};
use zohocrm::testkit::{Decision, Fault, Route};

/// Lets the next `ok` requests of `route` through, then fails the one after with `fault`
/// (the simulator takes queued faults in order; a zero latency answers normally).
fn fail_after(w: &World, route: Route, ok: usize, fault: Fault) {
    w.sim.inject(route, Fault::Latency(Duration::ZERO), ok);
    w.sim.inject(route, fault, 1);
}

#[test]
fn a_batched_create_that_fails_partway_prints_the_earlier_batches() {
    let w = World::start();
    w.login_eu();
    let leads: Vec<serde_json::Value> =
        (0..150).map(|i| serde_json::json!({"Last_Name": format!("Batch {i}"), "Company": "Partial Ltd"})).collect();
    let file = w.dir.path().join("150.json");
    std::fs::write(&file, serde_json::Value::Array(leads).to_string()).expect("write data");
    // Batch 1 (100 records) lands; batch 2 gets a 500 (writes are not retried on 500).
    fail_after(&w, Route::Records, 1, Fault::Status(500));
    let data = format!("@{}", file.display());
    let out = w.run(&["records", "create", "Leads", "--data", &data, "-o", "ndjson"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert_eq!(out.code, 4, "Zoho's 500 is an API error: {out:?}");
    let lines: Vec<serde_json::Value> =
        out.stdout.lines().map(|l| serde_json::from_str(l).expect("ndjson line")).collect();
    assert_eq!(lines.len(), 100, "the first batch's results: {}", out.stdout);
    for line in &lines {
        assert_eq!(line["status"], "success", "{line}");
        assert!(line["id"].as_str().is_some_and(|id| !id.is_empty()), "{line}");
    }
    assert!(out.stderr.contains("the first 100 records") && out.stderr.contains("other 50"), "{}", out.stderr);
}

#[test]
fn an_api_write_zoho_refuses_exits_4_with_the_body() {
    let w = World::start();
    w.login_eu();
    // Every record refused (no Last_Name): HTTP 400 with one result per record.
    let out = w.run(&["api", "POST", "Leads", "--data", r#"{"data":[{"Company":"x"}]}"#]);
    assert_eq!(out.code, 4, "{out:?}");
    let body: serde_json::Value = serde_json::from_str(&out.stdout).expect("the body is printed");
    assert_eq!(body["data"][0]["status"], "error", "{body}");
    // One of two refused (207): the body, and exit 4.
    let out = w.run(&[
        "api",
        "POST",
        "Leads",
        "--data",
        r#"{"data":[{"Company":"x"},{"Last_Name":"Fine","Company":"y"}]}"#,
        "-o",
        "ndjson",
    ]);
    assert_eq!(out.code, 4, "{out:?}");
    let body: serde_json::Value = serde_json::from_str(out.stdout.trim()).expect("the body is printed");
    assert_eq!(body["data"][1]["status"], "success", "{body}");
    // A write Zoho accepts still exits 0.
    let out = w.run(&["api", "POST", "Leads", "--data", r#"{"data":[{"Last_Name":"Fine","Company":"y"}]}"#]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_listing_that_fails_partway_prints_what_it_read() {
    let w = World::start();
    w.login_eu();
    let args = ["records", "list", "Leads", "--all", "--per-page", "2", "--api-version", "2"];
    let full = w.run(&[&args[..], &["-o", "json"]].concat());
    assert_eq!(full.code, 0, "{full:?}");
    let all: serde_json::Value = serde_json::from_str(&full.stdout).expect("json");
    let all = all.as_array().expect("array");
    assert!(all.len() > 2, "several pages: {}", all.len());
    let first_page: Vec<&str> = all.iter().take(2).map(|r| r["id"].as_str().expect("id")).collect();

    // Page 2 fails with an answer reads are not retried on.
    fail_after(&w, Route::Records, 1, Fault::Status(400));
    let table = w.run(&args);
    assert_ne!(table.code, 0, "{table:?}");
    for id in &first_page {
        assert!(table.stdout.contains(id), "page 1's {id} is printed: {table:?}");
    }
    assert!(table.stderr.contains("after 2 records: the output is incomplete"), "{}", table.stderr);

    fail_after(&w, Route::Records, 1, Fault::Status(400));
    let json = w.run(&[&args[..], &["-o", "json"]].concat());
    assert_eq!(json.code, table.code, "{json:?}");
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).expect("the output is valid JSON");
    let ids: Vec<&str> = rows.as_array().expect("array").iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(ids, first_page);
}

#[test]
fn a_login_without_the_users_scope_is_saved() {
    let w = World::start();
    let (out, _) = w.login_pasted(&["--scopes", "ZohoCRM.modules.ALL"], EU_USER, Decision::Accept);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Logged in as ? <?>"), "{}", out.stdout);
    assert!(out.stderr.contains("note: logged in, but the signed-in user could not be read"), "{}", out.stderr);
    let profiles = std::fs::read_to_string(w.store().with_file_name("profiles.json")).expect("profiles.json");
    let profiles: serde_json::Value = serde_json::from_str(&profiles).expect("json");
    assert_eq!(profiles["profiles"]["default"]["dc"], "eu", "{profiles}");
    // The login works for what its scopes allow.
    let out = w.run(&["records", "list", "Leads", "--fields", "Last_Name", "-o", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
}

/// Any other failure to read the user (an outage) is still reported — after the profile is
/// saved, since the token is stored.
#[test]
fn a_login_whose_user_lookup_fails_otherwise_reports_it_and_keeps_the_profile() {
    let w = World::start();
    // Every attempt (the first and two retries) of the user lookup meets a 503.
    w.sim.inject(Route::Users, Fault::Status(503), 3);
    let (out, _) = w.login_pasted(&[], EU_USER, Decision::Accept);
    assert_ne!(out.code, 0, "an outage is not a clean login: {out:?}");
    assert!(
        out.stderr.contains("logged in and the token stored, but reading the signed-in user failed"),
        "{}",
        out.stderr
    );
    let profiles = std::fs::read_to_string(w.store().with_file_name("profiles.json")).expect("profiles.json");
    let profiles: serde_json::Value = serde_json::from_str(&profiles).expect("json");
    assert_eq!(profiles["profiles"]["default"]["dc"], "eu", "{profiles}");
}

#[test]
fn coql_tables_show_every_selected_column() {
    let w = World::start();
    w.login_eu();
    let out = w.run(&[
        "coql",
        "select Last_Name, First_Name, Email, Phone, Company, Lead_Status, City from Leads \
         where Last_Name like 'M%' order by Last_Name limit 3",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let header: Vec<&str> = out.stdout.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "LAST_NAME", "FIRST_NAME", "EMAIL", "PHONE", "COMPANY", "LEAD_STATUS", "CITY"],
        "{}",
        out.stdout
    );
}
