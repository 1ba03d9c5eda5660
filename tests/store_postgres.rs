//! PostgresStore against the machine's PostgreSQL (each test in its own schema, dropped at the
//! end): conformance, cross-instance single flight, schema, lock timeout, no row values in
//! errors, SIGKILL during refresh-and-save, encryption at rest. Latencies are measured by the
//! `store_latency` bench.
//!
//! An unreachable PostgreSQL fails the tests; `ZOHOCRM_SKIP_POSTGRES=1` skips them, each with a
//! `SKIPPED (ZOHOCRM_SKIP_POSTGRES=1): <test>` line on stderr.
#![cfg(feature = "postgres")]

#[cfg(feature = "testkit")]
mod common;
mod store_support;

use std::sync::Arc;
use std::time::Duration;

use store_support::pg::TestSchema;
use store_support::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::store::{PostgresOptions, PostgresStore, SslMode, StoreError, TokenStore};

const CHILD: &str = "ZOHOCRM_STORE_CHILD";
const CHILD_PG: &str = "ZOHOCRM_STORE_PG";
const CHILD_SCHEMA: &str = "ZOHOCRM_STORE_SCHEMA";
const HELPER: &str = "pg_child_helper";

async fn store(schema: &TestSchema) -> PostgresStore {
    PostgresStore::connect(&schema.conn_str, &schema.name).await.unwrap()
}

#[tokio::test]
async fn pg_conformance_across_two_instances() {
    let Some(schema) = TestSchema::new("conformance").await else {
        return;
    };
    let (a, b) = (store(&schema).await, store(&schema).await);
    conformance(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_single_flight_across_instances() {
    let Some(schema) = TestSchema::new("flight").await else {
        return;
    };
    let (a, b) = (store(&schema).await, store(&schema).await);
    single_flight(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test]
async fn pg_schema_snapshot_and_idempotent_migration() {
    let Some(schema) = TestSchema::new("schema").await else {
        return;
    };
    drop(store(&schema).await);
    drop(store(&schema).await); // a second open migrates nothing
    let client = schema.client().await;
    let columns: Vec<serde_json::Value> = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
             FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
            &[&schema.name],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!({
                "table": r.get::<_, String>(0), "column": r.get::<_, String>(1),
                "type": r.get::<_, String>(2), "nullable": r.get::<_, String>(3),
            })
        })
        .collect();
    let pk: Vec<String> = client
        .query(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = format('%I.zohocrm_tokens', $1::text)::regclass AND i.indisprimary
             ORDER BY array_position(i.indkey, a.attnum)",
            &[&schema.name],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let versions: Vec<(String, i64)> = client
        .query(&format!("SELECT table_name, version FROM \"{}\".zohocrm_schema", schema.name), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    insta::assert_json_snapshot!(
        "postgres_schema",
        serde_json::json!({
            "columns": columns, "primary_key": pk, "versions": versions,
        })
    );
}

#[tokio::test]
async fn pg_newer_schema_and_bad_names_are_refused() {
    let Some(schema) = TestSchema::new("newer").await else {
        return;
    };
    drop(store(&schema).await);
    let client = schema.client().await;
    client.batch_execute(&format!("UPDATE \"{}\".zohocrm_schema SET version = 7", schema.name)).await.unwrap();
    let err = PostgresStore::connect(&schema.conn_str, &schema.name).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration { found: 7, supported: 1, .. }), "{err}");

    let err = PostgresStore::connect(&schema.conn_str, "bad-schema; --").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidIdentifier { what: "schema", .. }), "{err}");
    let options = PostgresOptions { table: "t\"x".into(), ..PostgresOptions::default() };
    let err = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidIdentifier { what: "table", .. }), "{err}");
}

#[tokio::test]
async fn pg_unreachable_server_is_a_database_error() {
    let err = PostgresStore::connect("host=127.0.0.1 port=1 user=postgres dbname=test connect_timeout=2", "s")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { backend: "PostgreSQL", action: "connect", .. }), "{err}");
}

#[tokio::test]
async fn pg_lock_timeout_gives_a_busy_error() {
    let Some(schema) = TestSchema::new("busy").await else {
        return;
    };
    let options = PostgresOptions { lock_timeout: Duration::from_millis(100), ..PostgresOptions::default() };
    let a = PostgresStore::connect_with(&schema.conn_str, &schema.name, options.clone()).await.unwrap();
    let b = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "a", "r", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap();
    let start = std::time::Instant::now();
    let err = b.begin_refresh(&k).await.err().expect("second lease must not be granted");
    assert!(matches!(err, StoreError::Busy { backend: "PostgreSQL", .. }), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(90));
    // Other keys are not blocked by the lease, and plain reads and writes never are.
    let other = key("bob", DataCenter::Us, Environment::Production);
    b.begin_refresh(&other).await.unwrap().release().await.unwrap();
    b.put(&token(&k, "b", "r", 2)).await.unwrap();
    assert_eq!(access(&b.get(&k).await.unwrap().unwrap()), "b");
    lease.release().await.unwrap();
    within("lease after release", b.begin_refresh(&k)).await.unwrap().release().await.unwrap();
}

#[tokio::test]
async fn pg_errors_never_quote_row_values() {
    let Some(schema) = TestSchema::new("leak").await else {
        return;
    };
    let s = store(&schema).await;
    let client = schema.client().await;
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{}\".zohocrm_tokens ADD CONSTRAINT short_tokens CHECK (length(access_token) < 5)",
            schema.name
        ))
        .await
        .unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    let err = s.put(&token(&k, "1000.very-secret-access", "1000.very-secret-refresh", 1)).await.unwrap_err();
    let text = format!("{err} / {err:?} / {:?}", std::error::Error::source(&err).map(|e| e.to_string()));
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    assert!(text.contains("short_tokens") && text.contains("23514"), "{text}");
    assert!(!text.contains("very-secret"), "a token leaked into the error: {text}");
}

/// SIGKILLs a child process at random moments of its begin_refresh → write → commit loop
/// (holding a PostgreSQL advisory lock): rows stay whole, the refresh token intact, nothing
/// reported committed is lost, and the dead child's lock is released.
#[tokio::test]
async fn pg_sigkill_during_refresh_leaves_store_consistent() {
    let Some(schema) = TestSchema::new("kill").await else {
        return;
    };
    let keys = rows::keys();
    let s = store(&schema).await;
    for k in &keys {
        s.put(&rows::row(k, 0)).await.unwrap();
    }
    let started = std::time::Instant::now();
    let (mut commits, mut in_lease, mut last) = (0, 0, vec![0i64; keys.len()]);
    let iterations = 8;
    for _ in 0..iterations {
        let envs =
            [(CHILD, "kill".to_owned()), (CHILD_PG, schema.conn_str.clone()), (CHILD_SCHEMA, schema.name.clone())];
        let mut running = child::spawn(HELPER, &envs, keys.len());
        running.wait_ready();
        std::thread::sleep(Duration::from_millis(random_below(40)));
        let progress = running.kill();
        commits += progress.commits;
        in_lease += usize::from(progress.died_holding_lease);
        let fresh = store(&schema).await;
        for (i, k) in keys.iter().enumerate() {
            let t = fresh.get(k).await.unwrap().expect("row still there");
            let n = rows::check_whole(&t);
            assert!(n >= progress.committed[i], "key {i}: stored n={n} < reported committed {}", progress.committed[i]);
            assert!(n >= last[i], "key {i} went backwards");
            last[i] = n;
        }
        for k in &keys {
            within("lease after SIGKILL", fresh.begin_refresh(k)).await.unwrap().release().await.unwrap();
        }
    }
    println!(
        "postgres kill loop: {iterations} kills ({in_lease} while holding the lease), {commits} commits by children, {:?}",
        started.elapsed()
    );
    assert!(commits > 0, "the children never committed: the kills did not hit the loop");
}

#[cfg(feature = "encryption")]
#[tokio::test]
async fn pg_tokens_are_sealed_and_a_wrong_key_is_refused() {
    use zohocrm::store::TokenCipher;
    let Some(schema) = TestSchema::new("cipher").await else {
        return;
    };
    let with = |b: u8| PostgresOptions { cipher: Some(TokenCipher::new([b; 32])), ..PostgresOptions::default() };
    let s = PostgresStore::connect_with(&schema.conn_str, &schema.name, with(1)).await.unwrap();
    let k = key("ann", DataCenter::Au, Environment::Sandbox);
    s.put(&token(&k, "1000.plain-access", "1000.plain-refresh", 1)).await.unwrap();
    assert_eq!(access(&s.get(&k).await.unwrap().unwrap()), "1000.plain-access");
    let client = schema.client().await;
    let row = client
        .query_one(&format!("SELECT access_token, refresh_token FROM \"{}\".zohocrm_tokens", schema.name), &[])
        .await
        .unwrap();
    let (at, rt): (String, String) = (row.get(0), row.get(1));
    assert!(at.starts_with("zc1:") && rt.starts_with("zc1:") && !at.contains("plain") && !rt.contains("plain"));
    let wrong = PostgresStore::connect_with(&schema.conn_str, &schema.name, with(2)).await.unwrap();
    assert!(matches!(wrong.get(&k).await, Err(StoreError::WrongKey { .. })));
    let none = store(&schema).await;
    assert!(matches!(none.get(&k).await, Err(StoreError::CipherRequired { .. })));
    // A lease still takes the unreadable row (with its error), and its commit replaces it.
    let mut lease = wrong.begin_refresh(&k).await.unwrap();
    assert!(lease.current().is_none());
    assert!(matches!(lease.take_unreadable(), Some(StoreError::WrongKey { .. })));
    lease.commit(&token(&k, "1000.new-access", "1000.new-refresh", 2)).await.unwrap();
    assert_eq!(access(&wrong.get(&k).await.unwrap().unwrap()), "1000.new-access");
}

/// Not a test: the child side of the kill test, run through
/// `current_exe() --ignored --exact pg_child_helper`.
#[test]
#[ignore = "helper run as a child process by the PostgreSQL kill test"]
fn pg_child_helper() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let (conn, schema) = (std::env::var(CHILD_PG).unwrap(), std::env::var(CHILD_SCHEMA).unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = PostgresStore::connect(&conn, &schema).await.unwrap();
        match mode.as_str() {
            "kill" => rows::refresh_loop(&store, &rows::keys(), None).await,
            other => panic!("unknown child mode {other}"),
        }
    });
}

/// The server ends sessions that sit in a transaction longer than
/// `idle_in_transaction_session_timeout`; a lease held across a token call must survive it:
/// the minted token is committed all the same, and the key is free afterwards.
#[tokio::test]
async fn pg_commit_after_idle_in_transaction_timeout_keeps_the_token() {
    let Some(schema) = TestSchema::new("idletx").await else {
        return;
    };
    let conn_str = format!("{} options='-c idle_in_transaction_session_timeout=100'", schema.conn_str);
    let a = PostgresStore::connect(&conn_str, &schema.name).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "old", "1000.rt", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap();
    // The token call: longer than the server lets a session idle in a transaction.
    tokio::time::sleep(Duration::from_millis(500)).await;
    within("commit", lease.commit(&token(&k, "minted", "1000.rt", 2))).await.unwrap();
    let b = store(&schema).await;
    assert_eq!(access(&b.get(&k).await.unwrap().unwrap()), "minted");
    within("next lease", b.begin_refresh(&k)).await.unwrap().release().await.unwrap();
    within("next lease on a", a.begin_refresh(&k)).await.unwrap().release().await.unwrap();
}

/// A server that answers PostgreSQL's SSLRequest with `N` (no TLS), as a server built without
/// TLS does; the local server has TLS (a self-signed certificate), so it cannot play this part.
async fn plain_only_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).await.is_ok() {
                let _ = socket.write_all(b"N").await;
                let mut rest = Vec::new();
                let _ = socket.read_to_end(&mut rest).await;
            }
        }
    });
    port
}

#[tokio::test]
async fn pg_sslmode_disable_prefer_require_and_verify_full() {
    let Some(schema) = TestSchema::new("sslmode").await else {
        return;
    };
    let plain = PostgresStore::connect(&format!("{} sslmode=disable", schema.conn_str), &schema.name).await.unwrap();
    assert_eq!(plain.ssl_mode(), Some(SslMode::Disable));
    let k = key("ann", DataCenter::Us, Environment::Production);
    plain.put(&token(&k, "a", "r", 1)).await.unwrap();
    // The local server offers TLS with a self-signed certificate: prefer (the default) and
    // require encrypt without verifying it, as libpq does.
    let preferred = store(&schema).await;
    assert_eq!(preferred.ssl_mode(), Some(SslMode::Prefer));
    assert_eq!(access(&preferred.get(&k).await.unwrap().unwrap()), "a");
    let app = format!("zt_tls_{}", std::process::id());
    let conn_str = format!("{} sslmode=require application_name={app}", schema.conn_str);
    let required = PostgresStore::connect(&conn_str, &schema.name).await.unwrap();
    assert_eq!(access(&required.get(&k).await.unwrap().unwrap()), "a");
    let admin = schema.client().await;
    let ssl: bool = admin
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl, "sslmode=require connections are encrypted");
    // verify-full checks the certificate against the roots: a self-signed one is refused.
    let err = within(
        "verify-full",
        PostgresStore::connect(&format!("{} sslmode=verify-full", schema.conn_str), &schema.name),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Tls { backend: "PostgreSQL", .. }), "{err}");
    // require and verify-full against a server without TLS fail at once, with a typed error;
    // prefer falls back to plain TCP there (and then fails on the fake server's silence,
    // which is not a TLS error).
    let port = plain_only_server().await;
    for mode in ["require", "verify-full"] {
        let conn_str = format!("host=127.0.0.1 port={port} user=postgres dbname=test sslmode={mode}");
        let err = within("connect with TLS required", PostgresStore::connect(&conn_str, "s")).await.unwrap_err();
        assert!(matches!(err, StoreError::Tls { backend: "PostgreSQL", .. }), "{err}");
        assert!(err.to_string().contains("does not support TLS"), "{err}");
    }
    // The option overrides the connection string.
    let options = PostgresOptions { ssl_mode: Some(SslMode::Require), ..PostgresOptions::default() };
    let conn_str = format!("host=127.0.0.1 port={port} user=postgres dbname=test sslmode=disable");
    let err = within("connect", PostgresStore::connect_with(&conn_str, "s", options)).await.unwrap_err();
    assert!(matches!(err, StoreError::Tls { .. }), "{err}");
}

#[tokio::test]
async fn pg_pool_exhaustion_is_busy_within_the_wait() {
    let Some(schema) = TestSchema::new("poolwait").await else {
        return;
    };
    let wait = Duration::from_millis(200);
    let options = PostgresOptions { max_connections: 1, pool_wait: wait, ..PostgresOptions::default() };
    let a = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "a", "r", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap(); // holds the only connection
    let err = within("get on an exhausted pool", a.get(&k)).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy { backend: "PostgreSQL", waited, .. } if waited == wait), "{err}");
    lease.commit(&token(&k, "b", "r", 2)).await.unwrap();
    assert_eq!(access(&a.get(&k).await.unwrap().unwrap()), "b");
}

/// The application's own pool is accepted.
#[tokio::test]
async fn pg_store_on_an_existing_pool() {
    let Some(schema) = TestSchema::new("ownpool").await else {
        return;
    };
    use zohocrm::store::deadpool_postgres::{Manager, Pool};
    let config: tokio_postgres::Config = schema.conn_str.parse().unwrap();
    let pool = Pool::builder(Manager::new(config, tokio_postgres::NoTls)).max_size(2).build().unwrap();
    let a = PostgresStore::from_pool(pool, &schema.name, PostgresOptions::default()).await.unwrap();
    let b = store(&schema).await;
    conformance(&a, &b).await;
}

/// A statement the database does not answer in time (here: a table locked by an admin's or a
/// migration's transaction) ends in `Busy` after `statement_timeout`, instead of the call, and
/// every call behind it, hanging; the store works again once the lock is gone.
#[tokio::test]
async fn pg_a_blocked_statement_ends_in_busy_after_the_statement_timeout() {
    let Some(schema) = TestSchema::new("stmt").await else {
        return;
    };
    let options = PostgresOptions {
        statement_timeout: Duration::from_millis(200),
        lock_timeout: Duration::from_millis(200),
        ..PostgresOptions::default()
    };
    let store = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "a", "r", 1)).await.unwrap();
    let mut admin = schema.client().await;
    // The server ends the admin's session (and its lock) if the test stops early, so a failing
    // test fails instead of hanging in the schema's clean-up.
    admin.batch_execute("SET idle_in_transaction_session_timeout = '4s'").await.unwrap();
    let tx = admin.transaction().await.unwrap();
    tx.batch_execute(&format!("LOCK TABLE \"{}\".zohocrm_tokens IN ACCESS EXCLUSIVE MODE", schema.name)).await.unwrap();
    let started = std::time::Instant::now();
    let err = within("get", store.get(&k)).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy { backend: "PostgreSQL", .. }), "{err}");
    let err = within("put", store.put(&token(&k, "b", "r", 2))).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    let err = within("list", store.list()).await.unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    let err = within("lease", store.begin_refresh(&k)).await.err().expect("no lease while the table is locked");
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(700), "each call waited its timeout");
    tx.rollback().await.unwrap();
    assert_eq!(access(&within("get", store.get(&k)).await.unwrap().unwrap()), "a");
}

/// A lease kept past `lease_max_hold` gives its connection and lock back; its late commit
/// still writes the token.
#[tokio::test]
async fn pg_lease_max_hold_frees_the_lock_and_a_late_commit_still_writes() {
    let Some(schema) = TestSchema::new("maxhold").await else {
        return;
    };
    let options = PostgresOptions {
        lease_max_hold: Duration::from_millis(100),
        max_connections: 1,
        ..PostgresOptions::default()
    };
    let a = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let b = store(&schema).await;
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "old", "r", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap();
    // Another instance gets the lease once the hold has passed (it waits until then).
    let other = within("lease after max hold", b.begin_refresh(&k)).await.unwrap();
    // The pooled connection came back too.
    assert_eq!(access(&within("get", a.get(&k)).await.unwrap().unwrap()), "old");
    other.release().await.unwrap();
    within("late commit", lease.commit(&token(&k, "minted", "r", 2))).await.unwrap();
    assert_eq!(access(&b.get(&k).await.unwrap().unwrap()), "minted");
}

/// A lease that lost its lock (held past `lease_max_hold`) while another instance stored a new
/// consent must not write its stale result over it: the late commit and the late delete are
/// refused with `LeaseLost`, and the reconnected token stays.
#[tokio::test]
async fn pg_a_late_commit_after_a_lost_lease_never_overwrites_a_newer_token() {
    let Some(schema) = TestSchema::new("lostlease").await else {
        return;
    };
    let options = PostgresOptions { lease_max_hold: Duration::from_millis(100), ..PostgresOptions::default() };
    let a = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let b = store(&schema).await;
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "old", "r", 1)).await.unwrap();
    let late_commit = a.begin_refresh(&k).await.unwrap();
    // Another instance waits out the hold and stores the user's new consent through its lease.
    let other = within("lease after max hold", b.begin_refresh(&k)).await.unwrap();
    other.commit(&token(&k, "reconnected", "r2", 3)).await.unwrap();
    let err = within("late commit", late_commit.commit(&token(&k, "minted", "r", 2))).await.unwrap_err();
    assert!(lease_lost(&err), "{err:?}");
    assert_eq!(refresh(&b.get(&k).await.unwrap().unwrap()), "r2", "the new consent was overwritten");
    assert!(err.to_string().contains("ann@us/production"), "{err}");

    // The same for a disconnect that lost its lease: the newer row is not deleted.
    let late_delete = a.begin_refresh(&k).await.unwrap();
    let other = within("lease after max hold", b.begin_refresh(&k)).await.unwrap();
    other.commit(&token(&k, "again", "r3", 4)).await.unwrap();
    let err = within("late delete", late_delete.delete()).await.unwrap_err();
    assert!(lease_lost(&err), "{err:?}");
    assert_eq!(refresh(&b.get(&k).await.unwrap().unwrap()), "r3", "the new consent was deleted");

    // A refresh of the same grant meanwhile does not stop a late commit: a new consent stored
    // late still wins over it.
    let late_consent = a.begin_refresh(&k).await.unwrap();
    let other = within("lease after max hold", b.begin_refresh(&k)).await.unwrap();
    other.commit(&token(&k, "refreshed", "r3", 5)).await.unwrap();
    within("late consent", late_consent.commit(&token(&k, "consent", "r4", 6))).await.unwrap();
    assert_eq!(refresh(&b.get(&k).await.unwrap().unwrap()), "r4", "the late consent was lost");
}

/// What [`refresh_past_its_lease`] leaves: A's call result, the token stored at the end, A's
/// client, and the simulator and schema they use (bind `_schema` to keep the schema alive).
#[cfg(feature = "testkit")]
struct PastItsLease {
    result: zohocrm::Result<Option<zohocrm::client::Org>>,
    stored: Option<zohocrm::Token>,
    crm: zohocrm::CrmClient,
    h: common::Harness,
    _schema: TestSchema,
}

/// What another instance does while the first one's refresh is at Zoho, past its lease.
#[cfg(feature = "testkit")]
#[derive(Clone, Copy, Debug, PartialEq)]
enum Meanwhile {
    /// The user connects again without `prompt=consent`: the stored grant stays, a new access
    /// token is stored.
    Reconnect,
    /// The user connects again with `prompt=consent`: a new refresh token, and Zoho revokes the
    /// old one (the refresh in flight is answered `invalid_code`).
    Reconsent,
    /// The user is disconnected.
    Disconnect,
}

/// Starts a call on instance A whose refresh Zoho answers only after A's lease was handed
/// back (`lease_max_hold`), does `meanwhile` through instance B (which waits for that lease),
/// and checks that A's late answer did not undo it.
#[cfg(feature = "testkit")]
async fn refresh_past_its_lease(test: &str, meanwhile: Meanwhile) -> Option<PastItsLease> {
    use zohocrm::testkit::{self, Decision, Fault, Route};
    let schema = TestSchema::new(test).await?;
    let hold = Duration::from_millis(150);
    let options = PostgresOptions { lease_max_hold: hold, ..PostgresOptions::default() };
    let a = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let h = common::harness_with(Arc::new(a)).await;
    let email = common::user_in(&h.sim, DataCenter::Us);
    let old = common::connect(&h, "u", &email, Environment::Production).await;
    let b = zohocrm::Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .store(store(&schema).await)
        .build()
        .unwrap();

    let crm = h.zoho.client(&old.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Latency(hold * 4), 1);
    let call = tokio::spawn({
        let crm = crm.clone();
        async move { crm.org().await }
    });
    while h.sim.pending_faults() > 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // A's refresh is at Zoho and holds the lease until the watchdog hands it back.
    let stored_by_b = if meanwhile == Meanwhile::Disconnect {
        within("disconnect", b.disconnect(&old.key)).await.unwrap();
        None
    } else {
        let mut request = b.authorization(testkit::DEFAULT_REDIRECT_URI).scopes(common::SCOPES.iter().copied());
        if meanwhile == Meanwhile::Reconsent {
            request = request.prompt_consent();
        }
        let (url, pending) = request.build(b.endpoints()).unwrap();
        let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
        Some(within("reconnect", b.complete_authorization("u", &redirect, &pending)).await.unwrap())
    };
    let result = within("the late refresh", call).await.unwrap();
    let stored = b.tokens().store().get(&old.key).await.unwrap();
    match (&stored, &stored_by_b) {
        (Some(stored), Some(by_b)) => assert!(
            stored.refresh_token.as_ref().unwrap().ct_eq(by_b.refresh_token.as_ref().unwrap()),
            "{meanwhile:?}: the late refresh overwrote the grant the other instance stored"
        ),
        (None, None) => {}
        _ => panic!("{meanwhile:?}: the late refresh undid what the other instance did"),
    }
    Some(PastItsLease { result, stored, crm, h, _schema: schema })
}

/// End to end, on PostgreSQL: an instance's refresh outlives its lease while the user
/// reconnects through another instance. The late answer does not overwrite the grant the other
/// stored (a new consent refuses the late commit; a reconnect that kept the grant lets it
/// land, both tokens being valid); the first instance's call goes through, and later calls ask
/// Zoho nothing more.
#[cfg(feature = "testkit")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_refresh_that_outlived_its_lease_yields_to_a_reconnect_elsewhere() {
    for (test, meanwhile) in [("lostreconnect", Meanwhile::Reconnect), ("lostreconsent", Meanwhile::Reconsent)] {
        let Some(PastItsLease { result, crm, h, _schema: _kept, .. }) = refresh_past_its_lease(test, meanwhile).await
        else {
            return;
        };
        result.unwrap_or_else(|e| panic!("{meanwhile:?}: the call fails instead of using the stored token: {e}"));
        crm.org().await.unwrap();
        assert_eq!(h.sim.count_grant("refresh_token"), 1, "{meanwhile:?}: a refresh after the stored token was used");
    }
}

/// ... and a disconnect elsewhere stays a disconnect: the late refresh does not bring the
/// connection back, and the first instance's call says the user is not connected.
#[cfg(feature = "testkit")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_a_refresh_that_outlived_its_lease_does_not_undo_a_disconnect_elsewhere() {
    let Some(PastItsLease { result, stored, crm, _schema: _kept, .. }) =
        refresh_past_its_lease("lostdisconnect", Meanwhile::Disconnect).await
    else {
        return;
    };
    assert!(stored.is_none());
    assert!(matches!(result, Err(zohocrm::Error::NotConnected { .. })), "{result:?}");
    let again = crm.org().await;
    assert!(matches!(again, Err(zohocrm::Error::NotConnected { .. })), "{again:?}");
}

/// The lease's session is ended by the server (an admin, a proxy, a failover): the commit
/// writes on a fresh connection, nothing is lost.
#[tokio::test]
async fn pg_commit_after_the_lease_session_was_terminated_keeps_the_token() {
    let Some(schema) = TestSchema::new("killed").await else {
        return;
    };
    let app = format!("zt_killed_{}", std::process::id());
    let conn_str = format!("{} application_name={app}", schema.conn_str);
    let a = PostgresStore::connect(&conn_str, &schema.name).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "old", "r", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap();
    let admin = schema.client().await;
    let killed = admin
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&app])
        .await
        .unwrap();
    assert!(killed >= 1);
    within("commit", lease.commit(&token(&k, "minted", "r", 2))).await.unwrap();
    assert_eq!(access(&store(&schema).await.get(&k).await.unwrap().unwrap()), "minted");
    within("next lease", a.begin_refresh(&k)).await.unwrap().release().await.unwrap();
}

/// Every `log` record of the process (the PostgreSQL driver logs through `log`, not tracing).
struct CapturedLog(std::sync::Mutex<Vec<String>>);

impl log::Log for CapturedLog {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.target(), record.args());
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }
    fn flush(&self) {}
}

static CAPTURED: CapturedLog = CapturedLog(std::sync::Mutex::new(Vec::new()));

/// An application that turns on debug logging sees the driver's statements and their
/// parameters: the token columns must be there as `[redacted]`, never as text.
#[tokio::test]
async fn pg_debug_logs_never_show_tokens() {
    let Some(schema) = TestSchema::new("logs").await else {
        return;
    };
    let _ = log::set_logger(&CAPTURED);
    log::set_max_level(log::LevelFilter::Debug);
    let s = store(&schema).await;
    let k = key("logs", DataCenter::Eu, Environment::Production);
    s.put(&token(&k, "1000.logged-access-secret", "1000.logged-refresh-secret", 1)).await.unwrap();
    let lease = s.begin_refresh(&k).await.unwrap();
    lease.commit(&token(&k, "1000.logged-access-secret-2", "1000.logged-refresh-secret", 2)).await.unwrap();
    assert!(s.get(&k).await.unwrap().is_some());
    let lines = CAPTURED.0.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.starts_with("tokio_postgres") && l.contains("with parameters")),
        "the driver logged its statements at debug level (else this test proves nothing): {} lines",
        lines.len()
    );
    for line in &lines {
        assert!(!line.contains("logged-access-secret") && !line.contains("logged-refresh-secret"), "{line}");
    }
}

/// A caller that gives up while waiting for a lease (a handler timeout dropping an `insert`
/// or `disconnect`) must not leave the lock behind in a pooled session: PostgreSQL grants the
/// pending `pg_advisory_lock` after the holder lets go, and a pooled session that got it would
/// hold it for as long as it lives.
#[tokio::test]
async fn pg_a_lease_wait_given_up_leaves_no_lock_behind() {
    let Some(schema) = TestSchema::new("cancel").await else {
        return;
    };
    let options = PostgresOptions { lock_timeout: Duration::from_secs(5), ..PostgresOptions::default() };
    let a = PostgresStore::connect_with(&schema.conn_str, &schema.name, options.clone()).await.unwrap();
    let b = PostgresStore::connect_with(&schema.conn_str, &schema.name, options).await.unwrap();
    let k = key("cal", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "a", "r", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap();
    // B waits for the lock, then gives up (its future is dropped mid-wait).
    let gave_up = tokio::time::timeout(Duration::from_millis(300), b.begin_refresh(&k)).await;
    assert!(gave_up.is_err(), "B was still waiting");
    lease.release().await.unwrap();
    // B's abandoned wait must not end up holding the lock: A gets it again (A's own pool, so
    // a re-entrant grant on B's session could not hide a leftover lock).
    let again = tokio::time::timeout(Duration::from_secs(10), a.begin_refresh(&k)).await;
    let again = again.expect("A got the lease again").expect("lease");
    again.release().await.unwrap();
}

/// Drops a test role (and what was granted to it) when dropped.
struct TestRole {
    conn_str: String,
    name: String,
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let name = &self.name;
        store_support::pg::clean_up(
            &self.conn_str,
            format!("DROP OWNED BY \"{name}\"; DROP ROLE IF EXISTS \"{name}\""),
            &format!("test role {name}"),
        );
    }
}

/// An application role with only USAGE on the schema and read/write on its tables (the
/// tables set up by a migration role) opens the store and uses it: opening used to run
/// `CREATE TABLE IF NOT EXISTS` every time, which PostgreSQL refuses without CREATE on the
/// schema ("permission denied for schema"), even when the table exists.
#[tokio::test]
async fn pg_a_role_without_create_rights_opens_a_store_set_up_before() {
    let Some(schema) = TestSchema::new("leastpriv").await else {
        return;
    };
    drop(store(&schema).await); // the migration role sets the schema up
    let role = TestRole { conn_str: schema.conn_str.clone(), name: format!("{}_app", schema.name) };
    let (s, r) = (&schema.name, &role.name);
    schema
        .client()
        .await
        .batch_execute(&format!(
            "CREATE ROLE \"{r}\" LOGIN; GRANT USAGE ON SCHEMA \"{s}\" TO \"{r}\"; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{s}\" TO \"{r}\""
        ))
        .await
        .unwrap();
    let app_conn = format!("{} user={r}", schema.conn_str);
    let app = PostgresStore::connect(&app_conn, s).await.expect("the application role opens the store");
    let token = token(&key("u", DataCenter::Eu, Environment::Production), "1000.a", "1000.r", 9_000_000);
    app.put(&token).await.unwrap();
    assert_eq!(app.get(&token.key).await.unwrap().unwrap().api_domain, token.api_domain);
    let lease = app.begin_refresh(&token.key).await.unwrap();
    assert!(lease.current().is_some());
    lease.release().await.unwrap();
    drop(app);
    drop(role);
}
