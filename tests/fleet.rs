//! Many processes, one token: PostgreSQL single-flight across processes, SQLite restarts,
//! SIGKILL in the middle of refresh-and-save, and tokens imported from Zoho's own SDKs — all
//! against the simulator over loopback.
//!
//! Child processes are this test binary run again with `--ignored --exact fleet_child` and
//! environment variables saying what to do.
#![cfg(all(feature = "testkit", feature = "sqlite"))]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use common::{connect, harness_with, user_in};
use zohocrm::dc::{DataCenter, EndpointTable, Endpoints, Environment};
use zohocrm::store::{ImportOptions, SqliteStore, TokenStore, import_zoho_filestore};
use zohocrm::testkit::Route;
use zohocrm::{TokenKey, Zoho};

const ROLE: &str = "ZOHOCRM_FLEET_ROLE";
const TABLE: &str = "ZOHOCRM_FLEET_TABLE";
const TARGET: &str = "ZOHOCRM_FLEET_TARGET";
const USER: &str = "ZOHOCRM_FLEET_USER";

fn child(role: &str, table: &str, target: &str, user: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "fleet_child", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(TABLE, table)
        .env(TARGET, target)
        .env(USER, user)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Forces the stored token to look expired, so the next call must refresh.
async fn expire_in_store(store: &dyn TokenStore, key: &TokenKey) {
    let mut token = store.get(key).await.unwrap().expect("token stored");
    token.expires_at_ms = 0;
    store.put(&token).await.unwrap();
}

/// What a child process does, selected by `ZOHOCRM_FLEET_ROLE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "child process of the fleet tests"]
async fn fleet_child() {
    let Ok(role) = std::env::var(ROLE) else { return };
    let table: EndpointTable = serde_json::from_str(&std::env::var(TABLE).unwrap()).unwrap();
    let target = std::env::var(TARGET).unwrap();
    let user = std::env::var(USER).unwrap();
    let store: Arc<dyn TokenStore> = match role.as_str() {
        #[cfg(feature = "postgres")]
        "pg-calls" => Arc::new(zohocrm::store::PostgresStore::connect(&pg_url(), &target).await.unwrap()),
        _ => Arc::new(SqliteStore::open(&target).await.unwrap()),
    };
    let zoho = Zoho::builder(common::credentials())
        .endpoints(Endpoints::from_table(&table).unwrap())
        .shared_store(store.clone())
        .build()
        .unwrap();
    let key = TokenKey::new(user, DataCenter::Eu, Environment::Production);
    match role.as_str() {
        "pg-calls" => {
            let crm = zoho.client(&key).await.unwrap();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..50 {
                let crm = crm.clone();
                tasks.spawn(async move { crm.org().await.map(|_| ()) });
            }
            let mut ok = 0;
            while let Some(r) = tasks.join_next().await {
                if r.unwrap().is_ok() {
                    ok += 1;
                }
            }
            println!("FLEET-OK {ok} refreshes={}", zoho.tokens().refresh_count());
        }
        "sqlite-refresh-loop" => loop {
            // Refresh and save, again and again, until the parent kills us.
            zoho.tokens().forget(&key);
            expire_in_store(store.as_ref(), &key).await;
            // `client` only loads the token: ask for an access token to force the refresh.
            let _ = zoho.tokens().access_token(&key).await.map(|_| ());
            println!("LOOP");
        },
        other => panic!("unknown role {other}"),
    }
}

#[cfg(feature = "postgres")]
fn pg_url() -> String {
    std::env::var("ZOHOCRM_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned())
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_with_an_expired_token_refresh_exactly_once_through_postgres() {
    use zohocrm::store::PostgresStore;
    let schema =
        format!("fleet_{}_{}", std::process::id(), zohocrm::clock::Clock::now_ms(&zohocrm::clock::SystemClock));
    let store = Arc::new(
        PostgresStore::connect(&pg_url(), &schema).await.expect("PostgreSQL at 127.0.0.1:5432 (database test)"),
    );
    let h = harness_with(store.clone()).await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let token = connect(&h, "fleet-user", &email, Environment::Production).await;
    expire_in_store(store.as_ref(), &token.key).await;
    h.sim.clear_requests();

    let table = serde_json::to_string(&h.sim.endpoints()).unwrap();
    let children: Vec<_> =
        (0..4).map(|_| child("pg-calls", &table, &schema, "fleet-user").spawn().expect("spawn child")).collect();
    let mut ok = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let line = stdout
            .split("FLEET-OK")
            .nth(1)
            .unwrap_or_else(|| panic!("child did not report:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
        ok += line.split_whitespace().next().unwrap().parse::<u32>().unwrap();
    }
    let token_requests = h.sim.count(Route::Token);
    drop_schema(&schema).await;
    assert_eq!(ok, 200, "4 processes x 50 calls all succeed");
    assert_eq!(token_requests, 1, "exactly one token request across 4 processes");
}

#[cfg(feature = "postgres")]
async fn drop_schema(schema: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
    }
}

#[tokio::test]
async fn a_token_in_sqlite_survives_a_restart_and_needs_no_new_consent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let h = harness_with(store).await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Au), Environment::Production).await;
    drop(h.zoho);

    // A new process: new store handle, new entry point, same file.
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .store(SqliteStore::open(&path).await.unwrap())
        .build()
        .unwrap();
    h.sim.clear_requests();
    let crm = zoho.client(&token.key).await.unwrap();
    assert!(crm.current_user().await.unwrap().is_some());
    assert_eq!(h.sim.count(Route::Token), 0, "the stored access token was reused");
    h.sim.advance(Duration::from_secs(3600));
    assert!(crm.current_user().await.unwrap().is_some());
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "the stored refresh token works after restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_refresh_and_save_keeps_the_store_consistent_and_the_refresh_token_usable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let h = harness_with(store.clone()).await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let token = connect(&h, "killed", &email, Environment::Production).await;
    let original_refresh = token.refresh_token.clone().unwrap();
    let table = serde_json::to_string(&h.sim.endpoints()).unwrap();

    for round in 0..10u64 {
        let mut c =
            tokio::process::Command::from(child("sqlite-refresh-loop", &table, path.to_str().unwrap(), "killed"))
                .kill_on_drop(true)
                .spawn()
                .unwrap();
        // Wait until it is refreshing and saving in a loop, then kill it at a varying moment.
        let mut lines = tokio::io::BufReader::new(c.stdout.take().unwrap()).lines();
        let started = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("LOOP") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(started.ok(), Some(true), "round {round}: the child started its refresh loop");
        tokio::time::sleep(Duration::from_millis(3 + (round * 7) % 40)).await;
        c.start_kill().unwrap(); // SIGKILL
        let status = c.wait().await.unwrap();
        assert!(!status.success(), "round {round}: the child was killed, not finished");

        // The row is whole and the refresh token is the one Zoho issued.
        let stored = store.get(&token.key).await.unwrap().expect("token still stored");
        assert!(stored.refresh_token.as_ref().unwrap().ct_eq(&original_refresh), "round {round}: refresh token intact");
        assert!(stored.access_token.is_some(), "round {round}: access token present");
        // And it still works: a refresh from this process succeeds (after Zoho's 10-minute window).
        h.sim.advance(Duration::from_secs(11 * 60));
        h.zoho.tokens().forget(&token.key);
        expire_in_store(store.as_ref(), &token.key).await;
        let crm = h.zoho.client(&token.key).await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        crm.org().await.unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
}

#[tokio::test]
async fn a_token_imported_from_zoho_sdk_filestore_works_against_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("t.sqlite3")).await.unwrap());
    let h = harness_with(store.clone()).await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let issued = h.sim.issue_tokens(&email, Environment::Production, common::SCOPES).unwrap();
    let api_domain = h.sim.endpoints().api[&DataCenter::Eu][&Environment::Production].clone();
    // sdk_tokens.txt as Zoho's Python SDK 8.0 writes it (csv.writer, QUOTE_MINIMAL, CRLF).
    let csv = format!(
        "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n\
         1,{email},{},\"sec,ret\",{},,,,https://app.example/cb,{api_domain}\r\n",
        zohocrm::testkit::DEFAULT_CLIENT_ID,
        issued.refresh_token.expose(),
    );
    let endpoints = common::endpoints(&h.sim);
    let resolve = |d: &str| endpoints.resolve_api_domain(d).ok();
    let report = import_zoho_filestore(&csv, &ImportOptions::new(0).resolve_api_domain(&resolve)).unwrap();
    assert_eq!(report.tokens.len(), 1, "{:?}", report.skipped);
    let imported = &report.tokens[0];
    assert_eq!(imported.key.dc, DataCenter::Eu);
    store.put(imported).await.unwrap();

    h.sim.clear_requests();
    let crm = h.zoho.client(&imported.key).await.unwrap();
    let me = crm.current_user().await.unwrap().unwrap();
    assert_eq!(me.email.as_deref(), Some(email.as_str()));
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "the imported refresh token minted an access token");
}
