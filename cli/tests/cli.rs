//! Golden-file tests: every command run as a process against the in-process Zoho simulator
//! (`--endpoints` = its JSON line), the test acting as the browser for `login`.

mod common;

use std::time::{Duration, Instant};

use common::{EU_USER, World};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{Decision, Fault, Route, SimConfig};

/// `args` with `version` (the `--api-version` flags, empty for the default) appended.
fn with<'a>(args: &[&'a str], version: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend_from_slice(version);
    all
}

/// The CRM paths and queries (`/crm/v2/…`, `/crm/v8/…`) of the simulator's log from entry
/// `from` on.
fn crm_paths(w: &World, from: usize) -> Vec<String> {
    w.sim
        .requests()
        .into_iter()
        .skip(from)
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| {
            let path = r.path.split_once("/crm/").map_or(r.path.clone(), |(_, p)| format!("/crm/{p}"));
            if r.query.is_empty() { path } else { format!("{path}?{}", r.query) }
        })
        .collect()
}

/// Every command where v2 and v8 both exist, in one API version: `version` is the
/// `--api-version` flags (empty: the default, v8), `tag` the snapshot name suffix. Checks
/// that every CRM call went to `prefix`.
fn explore_and_write(w: &World, version: &[&str], tag: &str, prefix: &str) {
    let from = w.sim.requests().len();
    let run = |args: &[&str]| w.run(&with(args, version));
    let name = |n: &str| format!("{n}{tag}");
    insta::assert_snapshot!(name("whoami"), w.snap(&run(&["whoami"])));
    insta::assert_snapshot!(name("users_list"), w.snap(&run(&["users", "list", "--type", "active"])));
    insta::assert_snapshot!(name("modules_list"), w.snap(&run(&["modules", "list"])));
    insta::assert_snapshot!(name("fields_leads"), w.snap(&run(&["fields", "Leads"])));
    insta::assert_snapshot!(name("records_list_page"), w.snap(&run(&["records", "list", "Leads", "--per-page", "3"])));
    insta::assert_snapshot!(
        name("records_list_csv"),
        w.snap(&run(&["records", "list", "Contacts", "--fields", "Last_Name,Email", "--per-page", "2", "-o", "csv"]))
    );
    insta::assert_snapshot!(name("api_org"), w.snap(&run(&["api", "GET", "org", "-o", "ndjson"])));

    // Writes: create, get, update, upsert, search, delete.
    let created = run(&[
        "records",
        "create",
        "Leads",
        "--data",
        r#"{"Last_Name":"Terminal","Company":"Shell, Inc","Email":"t@shell.example"}"#,
        "-o",
        "json",
    ]);
    assert_eq!(created.code, 0, "{created:?}");
    let results: serde_json::Value = serde_json::from_str(&created.stdout).expect("json results");
    let id = results[0]["id"].as_str().expect("created id").to_owned();
    assert_eq!(results[0]["code"], "SUCCESS");
    let got = run(&["records", "get", "Leads", &id, "-o", "json"]);
    assert!(got.stdout.contains("\"Shell, Inc\""), "{got:?}");
    let got = run(&["records", "get", "Leads", &id, "-o", "csv"]);
    insta::assert_snapshot!(name("records_get_keys"), got.stdout.lines().next().unwrap_or_default());
    let updated = run(&["records", "update", "Leads", &id, "--data", r#"{"Company":"Shell Ltd"}"#]);
    assert_eq!(updated.code, 0, "{updated:?}");
    let upserted = run(&[
        "records",
        "upsert",
        "Leads",
        "--data",
        r#"{"Last_Name":"Terminal","Email":"t@shell.example","Lead_Status":"Contacted"}"#,
        "--duplicate-check-fields",
        "Email",
    ]);
    assert_eq!(upserted.code, 0, "{upserted:?}");
    insta::assert_snapshot!(name("records_upsert"), w.snap(&upserted).replace(&id, "[id]"));
    let found = run(&["records", "search", "Leads", "--equals", "Company=Shell Ltd", "--fields", "Last_Name,Company"]);
    assert_eq!(found.code, 0, "{found:?}");
    insta::assert_snapshot!(name("records_search"), w.snap(&found).replace(&id, "[id]"));
    let deleted = run(&["records", "delete", "Leads", &id]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    insta::assert_snapshot!(name("records_delete"), w.snap(&deleted).replace(&id, "[id]"));
    let gone = run(&["records", "get", "Leads", &id]);
    assert_eq!(gone.code, 4, "{gone:?}");

    let paths = crm_paths(w, from);
    assert!(paths.len() >= 15, "{paths:?}");
    for path in &paths {
        assert!(path.starts_with(prefix), "{path} is not a {prefix} call");
    }
}

#[test]
fn login_in_the_browser_then_explore_and_logout() {
    let w = World::start();
    let out = w.login_browser(&[], EU_USER, Environment::Production, Decision::Accept);
    insta::assert_snapshot!("login_browser", w.snap(&out));
    assert_eq!(out.code, 0);

    // v8 by default; `--api-version 8` is the same; `--api-version 2` gives v2's answers.
    explore_and_write(&w, &[], "", "/crm/v8/");
    assert_eq!(w.run(&["whoami", "--api-version", "8"]).stdout, w.run(&["whoami"]).stdout);
    explore_and_write(&w, &["--api-version", "2"], "_v2", "/crm/v2/");
    insta::assert_snapshot!("token_status", w.snap(&w.run(&["token", "status"])));

    let refreshes = w.sim.count_grant("refresh_token");
    let refreshed = w.run(&["token", "refresh"]);
    assert_eq!(refreshed.code, 0, "{refreshed:?}");
    assert_eq!(w.sim.count_grant("refresh_token"), refreshes + 1, "token refresh sends one refresh");

    let revokes = w.sim.count(Route::Revoke);
    insta::assert_snapshot!("logout", w.snap(&w.run(&["logout"])));
    assert_eq!(w.sim.count(Route::Revoke), revokes + 1, "logout revokes at the DC");
    insta::assert_snapshot!("whoami_after_logout", w.snap(&w.run(&["whoami"])));
}

#[test]
fn login_with_the_redirect_pasted_on_stdin() {
    let w = World::start();
    let (out, _) = w.login_pasted(&["--profile", "work"], EU_USER, Decision::Accept);
    insta::assert_snapshot!("login_no_browser", w.snap(&out));
    let me = w.run(&["whoami", "--profile", "work", "-o", "json"]);
    let me: serde_json::Value = serde_json::from_str(&me.stdout).expect("json");
    assert_eq!(me["email"], EU_USER);
    assert_eq!(me["dc"], "eu");
    // Another profile is not logged in.
    let other = w.run(&["whoami"]);
    insta::assert_snapshot!("whoami_other_profile", w.snap(&other));
    assert_eq!(other.code, 3);
}

#[test]
fn denied_consent_exits_3() {
    let w = World::start();
    let (out, _) = w.login_pasted(&[], EU_USER, Decision::Reject);
    insta::assert_snapshot!("login_denied", w.snap(&out));
    assert_eq!(out.code, 3);
    let out = w.login_browser(&[], EU_USER, Environment::Production, Decision::Reject);
    assert_eq!(out.code, 3, "{out:?}");
}

#[test]
fn expired_login_exits_3_and_says_to_log_in_again() {
    let w = World::start();
    w.login_eu();
    let token = w.stored("default", DataCenter::Eu);
    assert!(w.sim.revoke_refresh_token_out_of_band(token.refresh_token.as_ref().expect("refresh token")));
    w.sim.invalidate_access_tokens_for(EU_USER);
    let out = w.run(&["whoami"]);
    insta::assert_snapshot!("expired_login", w.snap(&out));
    assert_eq!(out.code, 3);
    let out = w.run(&["records", "list", "Leads", "--all", "-o", "ndjson"]);
    insta::assert_snapshot!("expired_login_records_list", w.snap(&out));
    assert_eq!(out.code, 3);
    let out = w.run(&["whoami", "--api-version", "2"]);
    insta::assert_snapshot!("expired_login_v2", w.snap(&out));
    assert_eq!(out.code, 3);
}

#[test]
fn wrong_dc_secret_exits_3_and_names_the_variable() {
    let w = World::start();
    let mut cmd = w.command(&["login", "--no-browser"]);
    cmd.env("ZOHO_CLIENT_ID", zohocrm::testkit::DEFAULT_CLIENT_ID)
        .env("ZOHO_CLIENT_SECRET_US", common::sim_secret(DataCenter::Us))
        .env("ZOHO_CLIENT_SECRET_EU", "not-the-eu-secret");
    // Drive the pasted flow by hand with this environment.
    cmd.stdin(std::process::Stdio::piped());
    let out = {
        use std::io::{BufRead, BufReader, Write};
        let mut child = cmd.spawn().expect("spawn");
        let mut err = BufReader::new(child.stderr.take().expect("stderr"));
        let mut url = String::new();
        let mut line = String::new();
        while err.read_line(&mut line).expect("read") > 0 {
            if line.trim().contains("/oauth/v2/auth?") {
                url = line.trim().to_owned();
                break;
            }
            line.clear();
        }
        let redirect =
            w.rt.block_on(w.sim.consent(&url, EU_USER, Environment::Production, Decision::Accept)).expect("consent");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{redirect}").expect("paste");
        drop(stdin);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut err, &mut rest).expect("stderr");
        let status = child.wait().expect("wait");
        let tail: String = rest
            .lines()
            .filter(|l| l.starts_with("error") || l.starts_with("hint"))
            .map(|l| format!("{l}\n"))
            .collect();
        common::Outcome { code: status.code().unwrap_or(-1), stdout: String::new(), stderr: tail }
    };
    insta::assert_snapshot!("wrong_dc_secret", w.snap(&out));
    assert_eq!(out.code, 3);
    assert!(!out.stderr.contains("not-the-eu-secret"));
}

#[test]
fn coql_queries_print_rows_and_syntax_errors_exit_4() {
    let w = World::start();
    w.login_eu();
    let out = w.run(&[
        "coql",
        "select Last_Name, Company from Leads where Last_Name like 'M%' order by Last_Name limit 3",
        "-o",
        "csv",
    ]);
    insta::assert_snapshot!("coql_rows", w.snap(&out));
    assert_eq!(out.code, 0);
    let out = w.run(&["coql", "select from Leads"]);
    insta::assert_snapshot!("coql_syntax_error", w.snap(&out));
    assert_eq!(out.code, 4);
}

#[test]
fn unknown_module_exits_4() {
    let w = World::start();
    w.login_eu();
    let out = w.run(&["records", "list", "Leeds"]);
    insta::assert_snapshot!("unknown_module", w.snap(&out));
    assert_eq!(out.code, 4);
    let out = w.run(&["records", "list", "Leeds", "--fields", "Last_Name"]);
    insta::assert_snapshot!("unknown_module_with_fields", w.snap(&out));
    assert_eq!(out.code, 4);
    let out = w.run(&["records", "list", "Leeds", "--api-version", "2"]);
    insta::assert_snapshot!("unknown_module_v2", w.snap(&out));
    assert_eq!(out.code, 4);
}

#[test]
fn v8_limits_are_explained() {
    let w = World::start();
    w.login_eu();
    // Page numbers reach 2,000 records in v8; --all goes on with page tokens.
    let out = w.run(&["records", "list", "Leads", "--page", "11"]);
    insta::assert_snapshot!("v8_page_past_2000", w.snap(&out));
    assert_eq!(out.code, 4);
    // v8 sorts listings by id, Created_Time or Modified_Time only.
    let out = w.run(&["records", "list", "Leads", "--sort-by", "Last_Name"]);
    insta::assert_snapshot!("v8_sort_by", w.snap(&out));
    assert_eq!(out.code, 2);
    let out = w.run(&[
        "records",
        "list",
        "Leads",
        "--sort-by",
        "Last_Name",
        "--asc",
        "--per-page",
        "2",
        "--api-version",
        "2",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out =
        w.run(&["records", "list", "Leads", "--fields", "Last_Name", "--sort-by", "id", "--asc", "--per-page", "2"]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!("v8_sorted_by_id", w.snap(&out));
    // At most 50 fields per v8 listing: refused before anything is sent.
    let many: Vec<String> = (0..51).map(|i| format!("Field_{i}")).collect();
    let sent = w.sim.requests().len();
    let out = w.run(&["records", "list", "Leads", "--fields", &many.join(",")]);
    insta::assert_snapshot!("v8_too_many_fields", w.snap(&out));
    assert_eq!(out.code, 2);
    assert!(crm_paths(&w, sent).is_empty(), "nothing sent");
    // Search by word, every page, in both versions: the same hits.
    let v8 =
        w.run(&["records", "search", "Leads", "--word", "production", "--all", "--fields", "Last_Name", "-o", "csv"]);
    let v2 = w.run(&[
        "records",
        "search",
        "Leads",
        "--word",
        "production",
        "--all",
        "--fields",
        "Last_Name",
        "-o",
        "csv",
        "--api-version",
        "2",
    ]);
    assert_eq!((v8.code, v2.code), (0, 0), "{v8:?} {v2:?}");
    insta::assert_snapshot!("v8_search_word", w.snap(&v8));
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&v8.stdout), sorted(&v2.stdout));
}

#[test]
fn network_down_exits_5() {
    let w = World::start();
    w.login_eu();
    w.sim.shutdown();
    std::thread::sleep(Duration::from_millis(200));
    let out = w.run(&["whoami"]);
    insta::assert_snapshot!("network_down", w.snap(&out));
    assert_eq!(out.code, 5);
    let out = w.run(&["records", "list", "Leads", "--all"]);
    insta::assert_snapshot!("network_down_records_list", w.snap(&out));
    assert_eq!(out.code, 5);
    let out = w.run(&["whoami", "--api-version", "2"]);
    insta::assert_snapshot!("network_down_v2", w.snap(&out));
    assert_eq!(out.code, 5);
}

#[test]
fn usage_errors_exit_2() {
    let w = World::start();
    let out = w.run(&["records", "list"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = w.run(&["api", "FETCH", "org"]);
    insta::assert_snapshot!("api_bad_method", w.snap(&out));
    assert_eq!(out.code, 2);
    let out = w.run(&["records", "list", "Leads", "--api-version", "3"]);
    insta::assert_snapshot!("api_version_3", w.snap(&out));
    assert_eq!(out.code, 2, "v2 and v8 only: {out:?}");
}

#[test]
fn self_client_login_and_a_5000_lead_export() {
    let w = World::start_with(SimConfig { us_leads: 5_000, ..SimConfig::default() });
    let email = w.sim.users().into_iter().find(|u| u.dc == DataCenter::Us).expect("US user").email;
    let code = w
        .sim
        .self_client_code(
            &email,
            Environment::Production,
            &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"],
            Duration::from_secs(300),
        )
        .expect("code");
    let out = w.run_with(w.command(&["login", "--self-client", "--dc", "us", "--code", "-"]), Some(code.expose()));
    insta::assert_snapshot!("login_self_client", w.snap(&out));
    assert_eq!(out.code, 0);

    // v8 listings need `fields`: without --fields the CLI reads the module's fields, which
    // this login's scopes do not allow; the error says what to do.
    let out = w.run(&["records", "list", "Leads", "--all", "--output", "ndjson"]);
    insta::assert_snapshot!("v8_fields_need_scope", w.snap(&out));
    assert_eq!(out.code, 3);
    let code = w
        .sim
        .self_client_code(
            &email,
            Environment::Production,
            &["ZohoCRM.modules.ALL", "ZohoCRM.users.READ", "ZohoCRM.settings.fields.READ"],
            Duration::from_secs(300),
        )
        .expect("code");
    let out = w.run_with(w.command(&["login", "--self-client", "--dc", "us", "--code", "-"]), Some(code.expose()));
    assert_eq!(out.code, 0, "{out:?}");

    let export = |version: &[&str]| {
        let from = w.sim.requests().len();
        let started = Instant::now();
        let out = w.run(&with(&["records", "list", "Leads", "--all", "--output", "ndjson"], version));
        let elapsed = started.elapsed();
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.is_empty(), "no progress bar when stderr is not a terminal: {:?}", out.stderr);
        let lines: Vec<serde_json::Value> =
            out.stdout.lines().map(|l| serde_json::from_str(l).expect("ndjson line")).collect();
        assert_eq!(lines.len(), 5_000);
        let ids: std::collections::HashSet<&str> = lines.iter().map(|l| l["id"].as_str().expect("id")).collect();
        assert_eq!(ids.len(), 5_000, "every lead exactly once");
        (lines, elapsed, crm_paths(&w, from))
    };
    let (v8, v8_time, v8_paths) = export(&[]);
    let (v2, v2_time, v2_paths) = export(&["--api-version", "2"]);
    eprintln!(
        "5,000-lead export: v8 {v8_time:?} ({} calls), v2 {v2_time:?} ({} calls)",
        v8_paths.len(),
        v2_paths.len()
    );
    // v8: the field list, 10 pages by number (2,000 records), then 15 by page token.
    // v8: the field list, page 1 by number, then 24 pages by token (the SDK follows
    // `next_page_token` as soon as Zoho offers one); v2: 25 pages by number.
    assert_eq!(v8_paths.len(), 26);
    assert!(v8_paths[0].starts_with("/crm/v8/settings/fields?module=Leads"), "{}", v8_paths[0]);
    assert_eq!(v8_paths.iter().filter(|p| p.contains("page_token=")).count(), 24);
    assert!(v8_paths.iter().all(|p| p.starts_with("/crm/v8/")));
    assert_eq!(v2_paths.len(), 25);
    assert!(v2_paths.iter().all(|p| p.starts_with("/crm/v2/Leads?")), "{v2_paths:?}");
    // The same leads with the same fields in both versions (v8 lists newest first; v2 adds
    // its `$` metadata and `Tag`, which are not in the module's field list, so the default v8
    // listing does not ask for them).
    let by_id = |lines: Vec<serde_json::Value>| -> std::collections::BTreeMap<String, serde_json::Value> {
        lines
            .into_iter()
            .map(|mut l| {
                l.as_object_mut().expect("object").retain(|k, _| !k.starts_with('$') && k != "Tag");
                (l["id"].as_str().expect("id").to_owned(), l)
            })
            .collect()
    };
    let (v8, v2) = (by_id(v8), by_id(v2));
    assert_eq!(v8.keys().collect::<Vec<_>>(), v2.keys().collect::<Vec<_>>());
    for (id, lead) in &v8 {
        assert_eq!(lead, &v2[id], "lead {id} differs between v8 and v2");
    }
}

#[test]
fn import_a_zoho_sdk_token_file() {
    let w = World::start();
    let issued = w.sim.issue_tokens(EU_USER, Environment::Production, &["ZohoCRM.users.READ"]).expect("tokens");
    let file = w.dir.path().join("sdk_tokens.txt");
    let csv = format!(
        "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\n\
         1,{EU_USER},{},{},{},{},,1,https://app.example/cb,{}\n",
        zohocrm::testkit::DEFAULT_CLIENT_ID,
        common::sim_secret(DataCenter::Eu),
        issued.refresh_token.expose(),
        issued.access_token.expose(),
        issued.api_domain,
    );
    std::fs::write(&file, csv).expect("write");
    let out = w.run(&["import", file.to_str().expect("path")]);
    insta::assert_snapshot!("import", w.snap(&out));
    assert_eq!(out.code, 0);
    // Expired in the file: the first call refreshes.
    let me = w.run(&["whoami", "-o", "json"]);
    assert_eq!(me.code, 0, "{me:?}");
    assert!(me.stdout.contains(EU_USER));
    for text in [&out.stdout, &out.stderr, &me.stdout, &me.stderr] {
        assert!(!text.contains(issued.refresh_token.expose()) && !text.contains(issued.access_token.expose()));
    }
}

#[test]
fn secrets_never_appear_in_output_or_verbose_traces() {
    let w = World::start();
    let (login, redirect) = w.login_pasted(&["--verbose"], EU_USER, Decision::Accept);
    assert_eq!(login.code, 0, "{login:?}");
    let code = redirect.split(['?', '&']).find_map(|kv| kv.strip_prefix("code=")).expect("code in redirect").to_owned();
    let mut outputs = vec![login];
    for args in [
        vec!["whoami", "--verbose"],
        vec!["token", "status", "--verbose", "-o", "json"],
        vec!["token", "refresh", "--verbose"],
        vec!["api", "GET", "users?type=CurrentUser", "--verbose"],
        vec!["records", "list", "Leads", "--per-page", "2", "--verbose"],
    ] {
        outputs.push(w.run(&args));
    }
    w.sim.invalidate_access_tokens_for(EU_USER); // a 401, a refresh and a replay, traced
    outputs.push(w.run(&["whoami", "--verbose", "--api-version", "2"]));
    // The same in v8. The SDK's `CrmClient::request` (under every `CrmV8Client` call) does not
    // record `replayed` in its span, so only the refresh is checked here.
    let refreshes = w.sim.count_grant("refresh_token");
    w.sim.invalidate_access_tokens_for(EU_USER);
    outputs.push(w.run(&["whoami", "--verbose"]));
    assert_eq!(w.sim.count_grant("refresh_token"), refreshes + 1, "v8: refreshed and replayed");
    let token = w.stored("default", DataCenter::Eu);
    let secrets = [
        token.access_token.as_ref().expect("access").expose().to_owned(),
        token.refresh_token.as_ref().expect("refresh").expose().to_owned(),
        common::sim_secret(DataCenter::Eu),
        common::sim_secret(DataCenter::Us),
        code,
    ];
    let all: String = outputs.iter().map(|o| format!("{}\n{}\n", o.stdout, o.stderr)).collect();
    assert!(all.contains("zoho.api"), "the verbose trace is there to be scanned");
    assert!(all.contains("replayed=true"), "the refresh-and-replay was traced");
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(!all.contains(secret.as_str()), "a secret leaked into the CLI's output");
    }
    for o in &outputs {
        assert_eq!(o.code, 0, "{o:?}");
    }
    // The store and the profile file are private to the user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for path in [w.store(), w.store().with_file_name("profiles.json")] {
            let mode = std::fs::metadata(&path).expect("file").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        let profiles = std::fs::read_to_string(w.store().with_file_name("profiles.json")).expect("profiles");
        assert!(!profiles.contains("sim-secret"), "no client secret in the profile file");
    }
}

#[test]
fn ctrl_c_exits_130_and_leaves_the_store_usable() {
    let w = World::start();
    w.login_eu();
    w.sim.inject(Route::Records, Fault::Latency(Duration::from_secs(3)), 3);
    let mut child = w.command(&["records", "list", "Leads", "--all", "-o", "ndjson"]).spawn().expect("spawn");
    std::thread::sleep(Duration::from_millis(700));
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    w.sim.clear_faults();
    let me = w.run(&["whoami"]);
    assert_eq!(me.code, 0, "{me:?}");
}

#[test]
fn completions_are_printed() {
    let w = World::start();
    for shell in ["bash", "zsh", "fish"] {
        let out = w.run(&["completions", shell]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("zohocrm") && out.stdout.contains("records"), "{shell}");
    }
}

#[test]
fn a_malformed_endpoint_file_is_explained_without_its_values() {
    let w = World::start();
    let text = std::fs::read_to_string(&w.endpoints).expect("endpoint file");
    let mut file: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
    // A secret where a map of data center to secret belongs.
    file["client"]["client_secret"] = serde_json::json!("1000.s3cr3t-in-the-wrong-place");
    let bad = w.endpoints.with_file_name("bad.json");
    std::fs::write(&bad, file.to_string()).expect("write");
    let out = w.run(&["whoami", "--endpoints", bad.to_str().expect("utf-8 path")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("endpoint file") && out.stderr.contains("line 1"), "{}", out.stderr);
    assert!(!out.stderr.contains("s3cr3t") && !out.stdout.contains("s3cr3t"), "{}", out.stderr);
}
