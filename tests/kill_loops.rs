//! SIGKILL in the middle of refresh-and-save, again and again (issue #11, item 4), for each
//! persistent store (SQLite, PostgreSQL): after every kill the stored connection is whole and
//! its refresh token still refreshes.
//!
//! A child process (this test binary run again with `--ignored --exact kill_loop_child`)
//! refreshes the connection through the SDK against the simulator — forced expiry, token
//! request, store lease, save — and reports each finished refresh; the parent kills it after
//! a random number of them plus a random delay, so kills land during the token request, while
//! the lease is held and during the commit. Then the parent checks the row and refreshes with
//! it itself.
//!
//! Kills per store: `ZOHOCRM_KILL_LOOPS` (default 10 for `cargo test`; `cargo xtask soak
//! --kills 100` runs the full count).
#![cfg(all(feature = "testkit", feature = "sqlite"))]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{connect, harness_with, user_in};
use zohocrm::dc::{DataCenter, EndpointTable, Endpoints, Environment};
use zohocrm::store::{SqliteStore, TokenStore};
use zohocrm::testkit::Route;
use zohocrm::{TokenKey, Zoho};

const CHILD_STORE: &str = "ZOHOCRM_KILL_STORE";
const CHILD_TARGET: &str = "ZOHOCRM_KILL_TARGET";
const CHILD_TABLE: &str = "ZOHOCRM_KILL_TABLE";
/// Refreshes a child does before it idles (below Zoho's 10 per 10 minutes: the parent moves
/// the simulated clock 11 minutes per round).
const CHILD_REFRESHES: u32 = 9;
/// The parent kills after at most this many finished refreshes, plus up to [`KILL_JITTER_US`].
const KILL_AFTER_MAX: u64 = 5;
/// One SQLite refresh-and-save takes about 1–2 ms here, a PostgreSQL one about 10 ms.
const KILL_JITTER_US: u64 = 10_000;
const USER: &str = "killed";

/// Kills per store for this run.
fn kill_count() -> u32 {
    std::env::var("ZOHOCRM_KILL_LOOPS").ok().and_then(|v| v.parse().ok()).unwrap_or(10)
}

fn random_below(bound: u64) -> u64 {
    getrandom::u64().unwrap_or(0) % bound.max(1)
}

fn key() -> TokenKey {
    TokenKey::new(USER, DataCenter::Eu, Environment::Production)
}

/// Forces the stored token to look expired, so the next access must refresh.
async fn expire_in_store(store: &dyn TokenStore, key: &TokenKey) {
    let mut token = store.get(key).await.unwrap().expect("token stored");
    token.expires_at_ms = 0;
    store.put(&token).await.unwrap();
}

#[cfg(feature = "postgres")]
fn pg_url() -> String {
    std::env::var("ZOHOCRM_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned())
}

async fn open(kind: &str, target: &str) -> Arc<dyn TokenStore> {
    match kind {
        #[cfg(feature = "postgres")]
        "postgres" => Arc::new(zohocrm::store::PostgresStore::connect(&pg_url(), target).await.unwrap()),
        _ => Arc::new(SqliteStore::open(target).await.unwrap()),
    }
}

/// The child: refresh and save through the SDK, [`CHILD_REFRESHES`] times, then wait to be
/// killed (at most 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of the kill loops"]
async fn kill_loop_child() {
    let Ok(kind) = std::env::var(CHILD_STORE) else { return };
    let target = std::env::var(CHILD_TARGET).unwrap();
    let table: EndpointTable = serde_json::from_str(&std::env::var(CHILD_TABLE).unwrap()).unwrap();
    let store = open(&kind, &target).await;
    let zoho = Zoho::builder(common::credentials())
        .endpoints(Endpoints::from_table(&table).unwrap())
        .shared_store(store.clone())
        .build()
        .unwrap();
    let key = key();
    println!("READY");
    for n in 0..CHILD_REFRESHES {
        zoho.tokens().forget(&key);
        expire_in_store(store.as_ref(), &key).await;
        zoho.tokens().access_token(&key).await.unwrap();
        println!("REFRESHED {n}");
    }
    tokio::time::sleep(Duration::from_secs(30)).await;
}

/// What the kill loop saw, for the report.
#[derive(Debug, Default)]
struct Tally {
    kills: u32,
    child_refreshes: u64,
    /// Kills that landed after the child's token request reached Zoho and before its
    /// refresh was reported saved: during the token call, the lease or the commit.
    mid_refresh: u64,
    parent_refreshes: usize,
}

/// Spawns a child, kills it after `after` finished refreshes plus up to 10 ms, and returns how
/// many refreshes it reported.
fn spawn_and_kill(kind: &str, target: &str, table: &str, after: u32) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "kill_loop_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_STORE, kind)
        .env(CHILD_TARGET, target)
        .env(CHILD_TABLE, table)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child test binary");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut refreshed = 0u64;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.ends_with("READY") {
                let _ = tx.send(0);
            } else if line.starts_with("REFRESHED ") {
                refreshed += 1;
                let _ = tx.send(refreshed);
            }
        }
        refreshed
    });
    // Wait for `after` refreshes (0: kill during the first one), bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(n) if n >= u64::from(after) => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child did not reach {after} refreshes within 30 s");
            }
        }
    }
    std::thread::sleep(Duration::from_micros(random_below(KILL_JITTER_US)));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(status.code().is_none(), "the child was killed, not finished ({status})");
    reader.join().unwrap()
}

/// The simulator's count of refresh requests once it has stayed the same for 200 ms (at most
/// 5 s of waiting).
async fn quiet_count(h: &common::Harness) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = h.sim.count_grant("refresh_token");
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now = h.sim.count_grant("refresh_token");
        if now != last {
            (last, quiet_since) = (now, Instant::now());
        } else if quiet_since.elapsed() >= Duration::from_millis(200) {
            break;
        }
    }
    last
}

async fn kill_loop(kind: &str, target: &str, store: Arc<dyn TokenStore>) -> Tally {
    let h = harness_with(store.clone()).await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let token = connect(&h, USER, &email, Environment::Production).await;
    let original: zohocrm::RefreshToken = token.refresh_token.clone().unwrap();
    let table = serde_json::to_string(&h.sim.endpoints()).unwrap();
    let mut tally = Tally::default();
    for round in 0..kill_count() {
        // A fresh window of Zoho's 10 refreshes per 10 minutes for the child.
        h.sim.advance(Duration::from_secs(11 * 60));
        let after = random_below(KILL_AFTER_MAX + 1) as u32;
        let (kind, target, table) = (kind.to_owned(), target.to_owned(), table.clone());
        tally.child_refreshes +=
            tokio::task::spawn_blocking(move || spawn_and_kill(&kind, &target, &table, after)).await.unwrap();
        tally.kills += 1;

        // The row is whole, with the refresh token Zoho issued.
        let stored = store.get(&token.key).await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        let stored = stored.unwrap_or_else(|| panic!("round {round}: the connection disappeared"));
        assert!(stored.refresh_token.as_ref().unwrap().ct_eq(&original), "round {round}: refresh token intact");
        assert!(stored.access_token.is_some(), "round {round}: an access token is stored");
        assert_eq!(stored.api_domain, token.api_domain, "round {round}");
        assert_eq!(stored.scopes, token.scopes, "round {round}");

        // And it still refreshes, here, at once (the dead child's lease does not block).
        h.sim.advance(Duration::from_secs(11 * 60));
        h.zoho.tokens().forget(&token.key);
        expire_in_store(store.as_ref(), &token.key).await;
        // A token request the child wrote just before it was killed may still be on its way
        // through the simulator (it runs on this process's loaded runtime): count from a
        // quiet simulator, not from one still answering the dead child.
        let before = quiet_count(&h).await;
        let crm = tokio::time::timeout(Duration::from_secs(20), h.zoho.client(&token.key))
            .await
            .unwrap_or_else(|_| panic!("round {round}: the store stayed locked after the kill"))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        tokio::time::timeout(Duration::from_secs(20), crm.org())
            .await
            .unwrap_or_else(|_| panic!("round {round}: the refresh hung after the kill"))
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(h.sim.count_grant("refresh_token"), before + 1, "round {round}: refreshed with the stored token");
        tally.parent_refreshes += 1;
    }
    let child_requests = h.sim.count_grant("refresh_token") as u64 - tally.parent_refreshes as u64;
    tally.mid_refresh = child_requests.saturating_sub(tally.child_refreshes);
    // Every token request of the run was answered (no throttle, no unknown refresh token).
    let refused: Vec<_> =
        h.sim.requests().into_iter().filter(|r| r.route == Route::Token && r.status != 200 && r.status != 0).collect();
    assert!(refused.is_empty(), "token requests refused: {refused:?}");
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_during_refresh_and_save_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let started = Instant::now();
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let tally = kill_loop("sqlite", path.to_str().unwrap(), store).await;
    println!("KILL-LOOP sqlite: {tally:?} in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(tally.kills, kill_count());
    assert!(tally.kills == 0 || tally.child_refreshes > 0, "the children refreshed before being killed");
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_during_refresh_and_save_loop() {
    let schema = format!("kill_loops_{}_{}", std::process::id(), random_below(1 << 40));
    let started = Instant::now();
    let store: Arc<dyn TokenStore> = match zohocrm::store::PostgresStore::connect(&pg_url(), &schema).await {
        Ok(s) => Arc::new(s),
        // Skipped only on request (and loudly), as every PostgreSQL test: never silently.
        Err(_) if std::env::var_os("ZOHOCRM_SKIP_POSTGRES").is_some_and(|v| v == "1") => {
            eprintln!("SKIPPED (ZOHOCRM_SKIP_POSTGRES=1): postgres_sigkill_during_refresh_and_save_loop");
            return;
        }
        Err(e) => panic!(
            "PostgreSQL at {} is unreachable ({e}): start it, point ZOHOCRM_TEST_PG at one, or set ZOHOCRM_SKIP_POSTGRES=1",
            pg_url()
        ),
    };
    let tally = kill_loop("postgres", &schema, store).await;
    if let Ok((client, conn)) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
    }
    println!("KILL-LOOP postgres: {tally:?} in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(tally.kills, kill_count());
    assert!(tally.kills == 0 || tally.child_refreshes > 0, "the children refreshed before being killed");
}
