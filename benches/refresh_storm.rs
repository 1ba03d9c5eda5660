//! Refresh storm: 1,000 concurrent callers of one connection whose access token has expired —
//! wall time until every caller has a token, and how many token requests reached the
//! simulator (must be 1). Then the same storm split over 4 processes sharing one store, on
//! SQLite and (with the `postgres` feature and a server at 127.0.0.1:5432) on PostgreSQL.
//!
//! Child processes are this bench binary run again with `ZOHOCRM_STORM_ROLE` set.
//!
//! `cargo bench --bench refresh_storm --all-features` — prints `storm:` lines.
//! `cargo bench --bench refresh_storm --all-features -- --test` — CI smoke (one round each).

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zohocrm::clock::{Clock, SystemClock};
use zohocrm::dc::{EndpointTable, Endpoints};
use zohocrm::store::{MemoryStore, SqliteStore, TokenStore};
use zohocrm::testkit::{Route, SimConfig};
use zohocrm::{DataCenter, Environment, TokenKey, Zoho};

const ROLE: &str = "ZOHOCRM_STORM_ROLE";
const TABLE: &str = "ZOHOCRM_STORM_TABLE";
const TARGET: &str = "ZOHOCRM_STORM_TARGET";
const START: &str = "ZOHOCRM_STORM_START_MS";
const CALLERS: &str = "ZOHOCRM_STORM_CALLERS";
const USER: &str = "storm-user";

fn key() -> TokenKey {
    TokenKey::new(USER, DataCenter::Us, Environment::Production)
}

/// Makes the stored token look expired, so the next call must refresh.
async fn expire_in_store(store: &dyn TokenStore) {
    let mut token = store.get(&key()).await.expect("get").expect("token stored");
    token.expires_at_ms = 0;
    store.put(&token).await.expect("put");
}

/// `callers` concurrent `access_token` calls; the time until the last one has its token.
async fn storm(zoho: &Zoho, callers: usize) -> Duration {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let manager = zoho.tokens().clone();
        set.spawn(async move { manager.access_token(&key()).await.map(|_| ()) });
    }
    while let Some(r) = set.join_next().await {
        r.expect("task").expect("token");
    }
    start.elapsed()
}

#[cfg(feature = "postgres")]
fn pg_url() -> String {
    std::env::var("ZOHOCRM_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned())
}

async fn open_store(kind: &str, target: &str) -> Arc<dyn TokenStore> {
    match kind {
        #[cfg(feature = "postgres")]
        "postgres" => Arc::new(zohocrm::store::PostgresStore::connect(&pg_url(), target).await.expect("postgres")),
        _ => Arc::new(SqliteStore::open(target).await.expect("sqlite")),
    }
}

/// A child process: waits for the common start instant, runs its share of the storm, reports.
fn child(kind: &str) {
    let rt = support::runtime();
    rt.block_on(async {
        let table: EndpointTable = serde_json::from_str(&std::env::var(TABLE).expect("table")).expect("endpoint table");
        let target = std::env::var(TARGET).expect("target");
        let callers: usize = std::env::var(CALLERS).ok().and_then(|v| v.parse().ok()).unwrap_or(250);
        let start_ms: i64 = std::env::var(START).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        let store = open_store(kind, &target).await;
        let zoho = Zoho::builder(support::credentials())
            .endpoints(Endpoints::from_table(&table).expect("endpoints"))
            .shared_store(store)
            .build()
            .expect("zoho");
        let wait = start_ms - SystemClock.now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        let elapsed = storm(&zoho, callers).await;
        let done_ms = SystemClock.now_ms();
        println!("STORM-DONE {} {} {done_ms}", elapsed.as_micros(), zoho.tokens().refresh_count());
    });
}

fn one_process(rt: &tokio::runtime::Runtime, rounds: usize) -> Vec<String> {
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let s = rt.block_on(support::setup(SimConfig::default(), store.clone(), USER));
    let mut lines = Vec::new();
    for round in 0..rounds {
        rt.block_on(expire_in_store(store.as_ref()));
        s.zoho.tokens().forget(&s.key);
        s.sim.clear_requests();
        let wall = rt.block_on(storm(&s.zoho, 1000));
        let requests = s.sim.count(Route::Token);
        assert_eq!(requests, 1, "one token request for 1,000 callers");
        lines.push(format!(
            "storm: 1 process, 1,000 callers, memory store, round {round}: wall {:.2} ms, token requests {requests}",
            wall.as_secs_f64() * 1e3
        ));
    }
    lines
}

fn four_processes(rt: &tokio::runtime::Runtime, kind: &str, rounds: usize) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = match kind {
        "postgres" => format!("storm_{}_{}", std::process::id(), SystemClock.now_ms()),
        _ => dir.path().join("tokens.sqlite3").to_string_lossy().into_owned(),
    };
    let store = rt.block_on(open_store(kind, &target));
    let s = rt.block_on(support::setup(SimConfig::default(), store.clone(), USER));
    let table = serde_json::to_string(&s.sim.endpoints()).expect("table");
    let exe = std::env::current_exe().expect("current exe");
    let mut lines = Vec::new();
    for round in 0..rounds {
        rt.block_on(expire_in_store(store.as_ref()));
        s.sim.clear_requests();
        // Processes start (and open their store) first; the storm begins at a common instant.
        let start_ms = SystemClock.now_ms() + 1500;
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(&exe)
                    .env(ROLE, kind)
                    .env(TABLE, &table)
                    .env(TARGET, &target)
                    .env(START, start_ms.to_string())
                    .env(CALLERS, "250")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn child")
            })
            .collect();
        let (mut last_done, mut refreshes) = (0i64, 0u64);
        for c in children {
            let out = c.wait_with_output().expect("child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            let line = stdout.lines().find(|l| l.starts_with("STORM-DONE")).expect("child report");
            let fields: Vec<i64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
            refreshes += fields.get(1).copied().unwrap_or(0) as u64;
            last_done = last_done.max(fields.get(2).copied().unwrap_or(0));
        }
        let requests = s.sim.count(Route::Token);
        assert_eq!(requests, 1, "one token request across 4 processes");
        lines.push(format!(
            "storm: 4 processes x 250 callers, {kind}, round {round}: wall {} ms (common start to last caller served), \
             token requests {requests} (refreshes sent by the processes: {refreshes})",
            last_done - start_ms
        ));
    }
    #[cfg(feature = "postgres")]
    if kind == "postgres" {
        rt.block_on(async {
            if let Ok((client, conn)) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await {
                tokio::spawn(conn);
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{target}\" CASCADE")).await;
            }
        });
    }
    lines
}

fn main() {
    if let Ok(kind) = std::env::var(ROLE) {
        child(&kind);
        return;
    }
    let rounds = if support::smoke() { 1 } else { 3 };
    let rt = support::runtime();
    let mut lines = one_process(&rt, rounds);
    lines.extend(four_processes(&rt, "sqlite", rounds));
    #[cfg(feature = "postgres")]
    {
        let up = Command::new("pg_isready").args(["-h", "127.0.0.1", "-p", "5432", "-q"]).status();
        if up.is_ok_and(|s| s.success()) {
            lines.extend(four_processes(&rt, "postgres", rounds));
        } else {
            lines.push("storm: PostgreSQL not reachable at 127.0.0.1:5432; skipped".to_owned());
        }
    }
    for line in lines {
        println!("{line}");
    }
}
