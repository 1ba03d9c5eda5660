//! SqliteStore: conformance, the 0600 file, schema and migrations, busy errors, several
//! processes on one file, SIGKILL during refresh-and-save, encryption at rest. Latencies are
//! measured by the `store_latency` bench.
#![cfg(feature = "sqlite")]

mod store_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use store_support::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::store::{SqliteOptions, SqliteStore, StoreError, TokenStore};

const CHILD: &str = "ZOHOCRM_STORE_CHILD";
const CHILD_PATH: &str = "ZOHOCRM_STORE_PATH";
const CHILD_COUNT: &str = "ZOHOCRM_STORE_COUNT";
const HELPER: &str = "sqlite_child_helper";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

#[tokio::test]
async fn sqlite_conformance_across_two_instances() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    conformance(&a, &b).await;
}

#[tokio::test]
async fn sqlite_single_flight_across_instances() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    single_flight(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test]
async fn sqlite_file_is_created_0600_with_private_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    // Even with a permissive umask-independent check: the file must be 0600 exactly.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600, "store file mode");
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "a", "r", 1)).await.unwrap();
    for suffix in ["-wal", "-shm"] {
        let p = sibling(&path, suffix);
        assert!(p.exists(), "{suffix} exists in WAL mode");
        assert_eq!(mode(&p), 0o600, "{suffix} mode");
    }
}

#[tokio::test]
async fn sqlite_tightens_an_existing_world_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    drop(SqliteStore::open(&path).await.unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn sqlite_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path().join("no/such/dir/tokens.sqlite3")).await.unwrap_err();
    assert!(matches!(err, StoreError::Io { action: "create", .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir/tokens.sqlite3"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn sqlite_token_survives_a_process_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    // Another process writes the token and exits...
    let child = child::spawn(HELPER, &[(CHILD, "write".into()), (CHILD_PATH, path.display().to_string())], 1);
    child.finish();
    // ...and this one, opening the file fresh, finds it.
    let store = SqliteStore::open(&path).await.unwrap();
    let got = store.get(&rows::keys()[0]).await.unwrap().expect("token written by the child");
    assert_eq!(rows::check_whole(&got), 41);
}

#[tokio::test]
async fn sqlite_schema_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt =
        conn.prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").unwrap();
    let schema: Vec<serde_json::Value> = stmt
        .query_map([], |r| {
            let sql: String = r.get(2)?;
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            Ok(serde_json::json!({"type": r.get::<_, String>(0)?, "name": r.get::<_, String>(1)?, "sql": sql}))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let versions: Vec<(String, i64)> = conn
        .prepare("SELECT table_name, version FROM zohocrm_schema")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    insta::assert_json_snapshot!(
        "sqlite_schema",
        serde_json::json!({
            "objects": schema, "versions": versions, "journal_mode": journal,
        })
    );
}

#[tokio::test]
async fn sqlite_get_is_one_primary_key_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    // The store's `get` statement, verbatim.
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT user_key, dc, environment, access_token, refresh_token, expires_at_ms, \
             api_domain, accounts_server, scopes, created_at_ms, updated_at_ms FROM \"zohocrm_tokens\" \
             WHERE user_key = ?1 AND dc = ?2 AND environment = ?3",
        )
        .unwrap()
        .query_map(["u", "us", "production"], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert!(plan[0].starts_with("SEARCH zohocrm_tokens USING PRIMARY KEY"), "{plan:?}");
}

#[tokio::test]
async fn sqlite_custom_table_and_reopen_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let options = SqliteOptions { table: "my_tokens".into(), ..SqliteOptions::default() };
    let store = SqliteStore::open_with(&path, options.clone()).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "a", "r", 1)).await.unwrap();
    drop(store);
    let again = SqliteStore::open_with(&path, options).await.unwrap();
    assert_eq!(again.list().await.unwrap(), vec![k]);
    // The default table in the same file is separate.
    assert!(SqliteStore::open(&path).await.unwrap().list().await.unwrap().is_empty());

    for bad in ["", "tokens; DROP TABLE x", "\"q\"", "1abc"] {
        let err = SqliteStore::open_with(&path, SqliteOptions { table: bad.into(), ..SqliteOptions::default() })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidIdentifier { what: "table", .. }), "{err}");
    }
}

#[tokio::test]
async fn sqlite_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE zohocrm_schema SET version = 99 WHERE table_name = 'zohocrm_tokens'", []).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration { found: 99, supported: 2, .. }), "{err}");
    assert!(err.to_string().contains("upgrade zohocrm"), "{err}");
}

#[tokio::test]
async fn sqlite_corrupt_row_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "1000.secret-access", "1000.secret-refresh", 1)).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE zohocrm_tokens SET scopes = 'not json'", []).unwrap();
    let err = store.get(&k).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
    conn.execute("UPDATE zohocrm_tokens SET scopes = '[]', dc = 'uk'", []).unwrap();
    let err = store.list().await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn sqlite_busy_timeout_gives_a_busy_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let options = SqliteOptions { busy_timeout: Duration::from_millis(100), ..SqliteOptions::default() };
    let a = SqliteStore::open_with(&path, options.clone()).await.unwrap();
    let b = SqliteStore::open_with(&path, options).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "a", "r", 1)).await.unwrap();
    let lease = a.begin_refresh(&k).await.unwrap();
    let start = std::time::Instant::now();
    let err = b.begin_refresh(&k).await.err().expect("second lease must not be granted");
    assert!(matches!(err, StoreError::Busy { backend: "SQLite", .. }), "{err}");
    assert!(start.elapsed() >= Duration::from_millis(90), "gave up after {:?}", start.elapsed());
    // The lease is a row, not SQLite's write lock: other writers and readers go on meanwhile.
    b.put(&token(&k, "x", "y", 2)).await.unwrap();
    assert_eq!(access(&b.get(&k).await.unwrap().unwrap()), "x");
    lease.release().await.unwrap();
    let lease = b.begin_refresh(&k).await.expect("free once released");
    lease.release().await.unwrap();
}

/// Three processes take turns refreshing the same key through leases: every increment lands.
#[tokio::test]
async fn sqlite_processes_sharing_one_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    let k = &rows::keys()[0];
    store.put(&rows::row(k, 0)).await.unwrap();
    let per_child = 25;
    let children: Vec<_> = (0..3)
        .map(|_| {
            child::spawn(
                HELPER,
                &[
                    (CHILD, "incr".into()),
                    (CHILD_PATH, path.display().to_string()),
                    (CHILD_COUNT, per_child.to_string()),
                ],
                1,
            )
        })
        .collect();
    let mut commits = 0;
    for c in children {
        commits += c.finish().commits;
    }
    assert_eq!(commits, 3 * per_child);
    let got = store.get(k).await.unwrap().unwrap();
    assert_eq!(rows::check_whole(&got), 3 * per_child as i64, "an increment was lost");
}

/// SIGKILLs a child at random moments of its begin_refresh → write → commit loop: every row
/// stays whole, the refresh token intact, and nothing the child reported committed is lost.
#[tokio::test]
async fn sqlite_sigkill_during_refresh_leaves_store_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let keys = rows::keys();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        for k in &keys {
            store.put(&rows::row(k, 0)).await.unwrap();
        }
    }
    let started = std::time::Instant::now();
    let (mut total_commits, mut in_lease, mut last) = (0, 0, vec![0i64; keys.len()]);
    for _ in 0..20 {
        let mut running =
            child::spawn(HELPER, &[(CHILD, "kill".into()), (CHILD_PATH, path.display().to_string())], keys.len());
        running.wait_ready();
        std::thread::sleep(Duration::from_millis(random_below(40)));
        let progress = running.kill();
        total_commits += progress.commits;
        in_lease += usize::from(progress.died_holding_lease);
        // A fresh "process" (new store instance) checks the file.
        let store = SqliteStore::open(&path).await.unwrap();
        for (i, k) in keys.iter().enumerate() {
            let t = store.get(k).await.unwrap().expect("row still there");
            let n = rows::check_whole(&t);
            assert!(n >= progress.committed[i], "key {i}: stored n={n} < reported committed {}", progress.committed[i]);
            assert!(n >= last[i], "key {i} went backwards");
            last[i] = n;
        }
        // The dead child's lock is gone.
        let lease = within("lease after SIGKILL", store.begin_refresh(&keys[0])).await.unwrap();
        lease.release().await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    println!(
        "sqlite kill loop: 20 kills ({in_lease} while holding the lease), {total_commits} commits by children, {:?}",
        started.elapsed()
    );
    assert!(total_commits > 0, "the children never committed: the kills did not hit the loop");
}

#[cfg(feature = "encryption")]
mod encryption {
    use super::*;
    use zohocrm::store::TokenCipher;

    fn sealed(key_byte: u8) -> SqliteOptions {
        SqliteOptions { cipher: Some(TokenCipher::new([key_byte; 32])), ..SqliteOptions::default() }
    }

    #[tokio::test]
    async fn sqlite_tokens_are_sealed_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.sqlite3");
        let store = SqliteStore::open_with(&path, sealed(1)).await.unwrap();
        let k = key("ann", DataCenter::Eu, Environment::Production);
        store.put(&token(&k, "1000.plain-access-value", "1000.plain-refresh-value", 1)).await.unwrap();
        let got = store.get(&k).await.unwrap().unwrap();
        assert_eq!((access(&got), refresh(&got)), ("1000.plain-access-value", "1000.plain-refresh-value"));
        // Conformance holds with a cipher too.
        let dir2 = tempfile::tempdir().unwrap();
        let p2 = dir2.path().join("t.sqlite3");
        let (a, b) = (
            SqliteStore::open_with(&p2, sealed(1)).await.unwrap(),
            SqliteStore::open_with(&p2, sealed(1)).await.unwrap(),
        );
        conformance(&a, &b).await;

        drop(store);
        let conn = rusqlite::Connection::open(&path).unwrap();
        let (at, rt): (String, String) = conn
            .query_row("SELECT access_token, refresh_token FROM zohocrm_tokens", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert!(at.starts_with("zc1:") && rt.starts_with("zc1:"), "{at} {rt}");
        drop(conn);
        for file in ["", "-wal"] {
            let bytes = std::fs::read(sibling(&path, file)).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("plain-access") && !text.contains("plain-refresh"), "plaintext token in {file}");
        }
    }

    #[tokio::test]
    async fn sqlite_wrong_missing_or_unexpected_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.sqlite3");
        let k = key("ann", DataCenter::Eu, Environment::Production);
        let store = SqliteStore::open_with(&path, sealed(1)).await.unwrap();
        store.put(&token(&k, "1000.secret-access", "1000.secret-refresh", 1)).await.unwrap();

        let wrong = SqliteStore::open_with(&path, sealed(2)).await.unwrap();
        let err = wrong.get(&k).await.unwrap_err();
        assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
        // A lease still takes the row, with its error (so a new consent can replace it).
        let mut lease = wrong.begin_refresh(&k).await.unwrap();
        assert!(lease.current().is_none());
        assert!(matches!(lease.take_unreadable(), Some(StoreError::WrongKey { .. })));
        lease.release().await.unwrap();
        within("lease after the released lease", store.begin_refresh(&k)).await.unwrap().release().await.unwrap();

        let none = SqliteStore::open(&path).await.unwrap();
        let err = none.get(&k).await.unwrap_err();
        assert!(matches!(err, StoreError::CipherRequired { .. }), "{err}");

        let plain_path = dir.path().join("plain.sqlite3");
        SqliteStore::open(&plain_path).await.unwrap().put(&token(&k, "1000.secret-access", "r", 1)).await.unwrap();
        let err = SqliteStore::open_with(&plain_path, sealed(1)).await.unwrap().get(&k).await.unwrap_err();
        assert!(matches!(err, StoreError::NotSealed { .. }), "{err}");

        // A sealed value copied into another row does not open there.
        let k2 = key("bob", DataCenter::Eu, Environment::Production);
        store.put(&token(&k2, "1000.bob-access", "1000.bob-refresh", 1)).await.unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE zohocrm_tokens SET access_token = (SELECT access_token FROM zohocrm_tokens WHERE user_key = 'ann') WHERE user_key = 'bob'",
            [],
        )
        .unwrap();
        let err = store.get(&k2).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

        insta::assert_yaml_snapshot!(
            "sqlite_cipher_errors",
            [
                wrong.get(&k).await.unwrap_err().to_string(),
                none.get(&k).await.unwrap_err().to_string(),
                err.to_string(),
            ]
        );
    }
}

/// Not a test: the child side of the process tests, run by the parent through
/// `current_exe() --ignored --exact sqlite_child_helper`.
#[test]
#[ignore = "helper run as a child process by the SQLite process tests"]
fn sqlite_child_helper() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let path = std::env::var(CHILD_PATH).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&path).await.unwrap();
        let keys = rows::keys();
        match mode.as_str() {
            "write" => store.put(&rows::row(&keys[0], 41)).await.unwrap(),
            "incr" => {
                let count: usize = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
                rows::refresh_loop(&store, &keys, Some(count)).await;
            }
            "kill" => rows::refresh_loop(&store, &keys, None).await,
            other => panic!("unknown child mode {other}"),
        }
    });
}

/// A lease on one connection does not hold up a refresh of another (the lease is a row, not
/// SQLite's write lock held across the call to Zoho).
#[tokio::test]
async fn sqlite_leases_of_different_connections_do_not_wait_for_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let options = SqliteOptions { busy_timeout: Duration::from_millis(200), ..SqliteOptions::default() };
    let a = SqliteStore::open_with(&path, options.clone()).await.unwrap();
    let b = SqliteStore::open_with(&path, options).await.unwrap();
    let (ka, kb) =
        (key("ann", DataCenter::Us, Environment::Production), key("bob", DataCenter::Eu, Environment::Sandbox));
    a.put(&token(&ka, "a1", "ra", 1)).await.unwrap();
    b.put(&token(&kb, "b1", "rb", 1)).await.unwrap();
    let lease_a = a.begin_refresh(&ka).await.unwrap();
    let started = std::time::Instant::now();
    let lease_b = b.begin_refresh(&kb).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(150), "took {:?}", started.elapsed());
    lease_b.commit(&token(&kb, "b2", "rb", 2)).await.unwrap();
    lease_a.commit(&token(&ka, "a2", "ra", 2)).await.unwrap();
    assert_eq!(access(&b.get(&ka).await.unwrap().unwrap()), "a2");
    assert_eq!(access(&a.get(&kb).await.unwrap().unwrap()), "b2");
}

/// A lease left behind by a holder that neither committed nor released (and whose process is
/// this one, so it cannot be declared dead) is taken over once it expires.
#[tokio::test]
async fn sqlite_an_expired_lease_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let store = SqliteStore::open(&path).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "a", "r", 1)).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO zohocrm_tokens_leases (user_key, dc, environment, owner, pid, expires_at_ms) VALUES ('ann', 'us', 'production', 'someone-else', ?1, 1)",
        [i64::from(std::process::id())],
    )
    .unwrap();
    let lease = within("expired lease", store.begin_refresh(&k)).await.unwrap();
    assert_eq!(access(lease.current().unwrap()), "a");
    lease.commit(&token(&k, "b", "r", 2)).await.unwrap();
    let left: i64 = conn.query_row("SELECT count(*) FROM zohocrm_tokens_leases", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the commit gave the lease back");
}

/// A lease that expired and was taken over by another instance, which stored a new consent,
/// must not write its stale result over it (nor delete it); when the grant did not change in
/// between (nobody wrote, or a refresh of the same grant), the late commit still lands.
#[tokio::test]
async fn sqlite_a_late_commit_after_a_lost_lease_never_overwrites_a_newer_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let (a, b) = (SqliteStore::open(&path).await.unwrap(), SqliteStore::open(&path).await.unwrap());
    let k = key("ann", DataCenter::Us, Environment::Production);
    a.put(&token(&k, "old", "r", 1)).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let expire = || conn.execute("UPDATE zohocrm_tokens_leases SET expires_at_ms = 1", []).unwrap();

    let late_commit = a.begin_refresh(&k).await.unwrap();
    expire();
    let other = within("take over", b.begin_refresh(&k)).await.unwrap();
    other.commit(&token(&k, "reconnected", "r2", 3)).await.unwrap();
    let err = late_commit.commit(&token(&k, "minted", "r", 2)).await.unwrap_err();
    assert!(lease_lost(&err), "{err:?}");
    assert_eq!(refresh(&b.get(&k).await.unwrap().unwrap()), "r2", "the new consent was overwritten");

    let late_delete = a.begin_refresh(&k).await.unwrap();
    expire();
    let other = within("take over", b.begin_refresh(&k)).await.unwrap();
    other.commit(&token(&k, "again", "r3", 4)).await.unwrap();
    let err = late_delete.delete().await.unwrap_err();
    assert!(lease_lost(&err), "{err:?}");
    assert_eq!(refresh(&b.get(&k).await.unwrap().unwrap()), "r3", "the new consent was deleted");

    // A refresh of the same grant meanwhile does not stop a late commit: a new consent stored
    // late still wins over it.
    let late_consent = a.begin_refresh(&k).await.unwrap();
    expire();
    within("take over", b.begin_refresh(&k)).await.unwrap().commit(&token(&k, "refreshed", "r3", 5)).await.unwrap();
    late_consent.commit(&token(&k, "consent", "r4", 6)).await.unwrap();
    assert_eq!(refresh(&b.get(&k).await.unwrap().unwrap()), "r4", "the late consent was lost");

    // Taken over and given back unchanged: the late commit still writes.
    let late = a.begin_refresh(&k).await.unwrap();
    expire();
    within("take over", b.begin_refresh(&k)).await.unwrap().release().await.unwrap();
    late.commit(&token(&k, "minted", "r4", 7)).await.unwrap();
    assert_eq!(access(&b.get(&k).await.unwrap().unwrap()), "minted");
    let left: i64 = conn.query_row("SELECT count(*) FROM zohocrm_tokens_leases", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "a lease row was left behind");
}

/// A database written by schema version 1 gains the lease table on open.
#[tokio::test]
async fn sqlite_version_1_files_migrate_to_version_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let k = key("ann", DataCenter::Us, Environment::Production);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.put(&token(&k, "a", "r", 1)).await.unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE zohocrm_tokens_leases; UPDATE zohocrm_schema SET version = 1").unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    let version: i64 = conn.query_row("SELECT version FROM zohocrm_schema", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 2);
    let lease = store.begin_refresh(&k).await.unwrap();
    assert_eq!(access(lease.current().unwrap()), "a");
    lease.release().await.unwrap();
}

/// Field 22 of `/proc/<pid>/stat`: the process start time in clock ticks since boot.
fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

fn forge_lease(path: &Path, pid: u32, owner: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let far = i64::MAX / 2;
    conn.execute(
        "INSERT INTO zohocrm_tokens_leases (user_key, dc, environment, owner, pid, expires_at_ms) VALUES ('ann', 'us', 'production', ?1, ?2, ?3)",
        rusqlite::params![owner, i64::from(pid), far],
    )
    .unwrap();
}

/// A restarted process with the same PID (a container's PID 1, every time) finds its dead
/// predecessor's unexpired lease: it is not its own, and is taken over at once.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn sqlite_a_lease_of_a_predecessor_with_the_same_pid_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let options = SqliteOptions { busy_timeout: Duration::from_millis(300), ..SqliteOptions::default() };
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "a", "r", 1)).await.unwrap();
    let me = std::process::id();
    // What the predecessor (same PID, started earlier) left: pid:start:random.
    forge_lease(&path, me, &format!("{me}:{}:00112233445566778899aabbccddeeff", start_time(me) - 1));
    let lease = within("predecessor's lease", store.begin_refresh(&k)).await.unwrap();
    lease.commit(&token(&k, "b", "r", 2)).await.unwrap();
    assert_eq!(access(&store.get(&k).await.unwrap().unwrap()), "b");
}

/// A lease whose PID now belongs to an unrelated live process (PID reuse) is dead; one whose
/// process is really alive (same PID and start time) is waited for.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn sqlite_a_reused_pid_does_not_keep_a_dead_lease_alive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let options = SqliteOptions { busy_timeout: Duration::from_millis(300), ..SqliteOptions::default() };
    let store = SqliteStore::open_with(&path, options).await.unwrap();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "a", "r", 1)).await.unwrap();
    // PID 1 is alive, but was not started at tick 1 (it is older than any lease holder).
    forge_lease(&path, 1, &format!("1:{}:00112233445566778899aabbccddeeff", start_time(1) + 1));
    let lease = within("reused pid's lease", store.begin_refresh(&k)).await.unwrap();
    lease.release().await.unwrap();

    // The genuine PID 1 holding it (matching start time): a live holder, so Busy.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("DELETE FROM zohocrm_tokens_leases", []).unwrap();
    forge_lease(&path, 1, &format!("1:{}:00112233445566778899aabbccddeeff", start_time(1)));
    let err = store.begin_refresh(&k).await.err().expect("a live holder's lease must be waited for");
    assert!(matches!(err, StoreError::Busy { backend: "SQLite", .. }), "{err}");
}
