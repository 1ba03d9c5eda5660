//! Helpers shared by the `store_*` integration tests: token builders, the conformance suite
//! every `TokenStore` must pass, PostgreSQL test schemas and child-process plumbing.
#![allow(dead_code, reason = "shared by several test crates; each uses a part of it")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use zohocrm::dc::{DataCenter, Environment};
use zohocrm::store::{StoreError, TokenStore};
use zohocrm::token::{Token, TokenKey};
use zohocrm::{AccessToken, RefreshToken};

pub fn key(user: &str, dc: DataCenter, env: Environment) -> TokenKey {
    TokenKey::new(user, dc, env)
}

pub fn token(key: &TokenKey, access: &str, refresh: &str, expires_at_ms: i64) -> Token {
    Token {
        key: key.clone(),
        access_token: Some(AccessToken::new(access)),
        refresh_token: Some(RefreshToken::new(refresh)),
        expires_at_ms,
        api_domain: "https://www.zohoapis.com".into(),
        accounts_server: "https://accounts.zoho.com".into(),
        scopes: vec!["ZohoCRM.modules.ALL".into(), "ZohoCRM.users.READ".into()],
        created_at_ms: 1_000,
        updated_at_ms: 2_000,
    }
}

pub fn access(t: &Token) -> &str {
    t.access_token.as_ref().map(AccessToken::expose).unwrap_or("<none>")
}

pub fn refresh(t: &Token) -> &str {
    t.refresh_token.as_ref().map(RefreshToken::expose).unwrap_or("<none>")
}

/// Fails the test if `fut` takes longer than 5 s (a lease that never released, say).
/// Whether a late lease end was refused because another writer changed the row meanwhile.
pub fn lease_lost(err: &StoreError) -> bool {
    matches!(err, StoreError::LeaseLost { .. })
}

pub async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within 5 s"))
}

/// The behaviour every store must have. `other` is a second handle on the same data that does
/// not share in-process state with `store` (another store instance: another "process"), or
/// the same store for the memory store.
pub async fn conformance(store: &dyn TokenStore, other: &dyn TokenStore) {
    use DataCenter::*;
    use Environment::*;
    let ann_us = key("ann", Us, Production);
    assert!(store.get(&ann_us).await.unwrap().is_none());
    assert!(store.list().await.unwrap().is_empty());
    assert!(!store.delete(&ann_us).await.unwrap());

    // put + get keep every column.
    let mut t = token(&ann_us, "1000.at.1", "1000.rt.ann", 3_600_000);
    t.api_domain = "https://www.zohoapis.com".into();
    store.put(&t).await.unwrap();
    let got = other.get(&ann_us).await.unwrap().expect("stored token");
    assert_eq!(got.key, ann_us);
    assert_eq!((access(&got), refresh(&got)), ("1000.at.1", "1000.rt.ann"));
    assert_eq!(got.expires_at_ms, 3_600_000);
    assert_eq!(got.api_domain, "https://www.zohoapis.com");
    assert_eq!(got.accounts_server, "https://accounts.zoho.com");
    assert_eq!(got.scopes, vec!["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]);
    assert_eq!((got.created_at_ms, got.updated_at_ms), (1_000, 2_000));

    // Upsert replaces everything but created_at_ms.
    let mut t2 = token(&ann_us, "1000.at.2", "1000.rt.ann2", 7_200_000);
    t2.scopes = vec![];
    t2.created_at_ms = 5_000;
    t2.updated_at_ms = 6_000;
    store.put(&t2).await.unwrap();
    let got = store.get(&ann_us).await.unwrap().unwrap();
    assert_eq!((access(&got), refresh(&got), got.expires_at_ms), ("1000.at.2", "1000.rt.ann2", 7_200_000));
    assert!(got.scopes.is_empty());
    assert_eq!((got.created_at_ms, got.updated_at_ms), (1_000, 6_000));
    // The shared read (what the manager caches) is the same row.
    let shared = other.get_shared(&ann_us).await.unwrap().expect("stored token");
    assert_eq!((access(&shared), refresh(&shared), shared.expires_at_ms), ("1000.at.2", "1000.rt.ann2", 7_200_000));
    assert_eq!((shared.created_at_ms, shared.updated_at_ms, &shared.key), (1_000, 6_000, &ann_us));
    assert!(store.get_shared(&key("nobody", Us, Production)).await.unwrap().is_none());
    // A lease commit returns the token as stored: the row's first created_at_ms is kept.
    let mut t3 = token(&ann_us, "1000.at.3", "1000.rt.ann2", 9_000_000);
    t3.created_at_ms = 8_000;
    let committed = store.begin_refresh(&ann_us).await.unwrap().commit_shared(t3).await.unwrap();
    assert_eq!((access(&committed), committed.created_at_ms, committed.expires_at_ms), ("1000.at.3", 1_000, 9_000_000));
    let got = other.get(&ann_us).await.unwrap().unwrap();
    assert_eq!((access(&got), got.created_at_ms, got.updated_at_ms), ("1000.at.3", 1_000, 2_000));
    // A commit_shared on a key with no row stores it as given.
    let fresh_key = key("commit-shared-new", Us, Production);
    let committed = store
        .begin_refresh(&fresh_key)
        .await
        .unwrap()
        .commit_shared(token(&fresh_key, "1000.at.n", "1000.rt.n", 5))
        .await
        .unwrap();
    assert_eq!(committed.created_at_ms, 1_000);
    assert!(store.delete(&fresh_key).await.unwrap());
    // Back to the row the rest of the suite expects.
    let mut t2 = token(&ann_us, "1000.at.2", "1000.rt.ann2", 7_200_000);
    t2.scopes = vec![];
    t2.updated_at_ms = 6_000;
    store.put(&t2).await.unwrap();

    // The key is (user, dc, environment); odd user keys round-trip.
    let keys = [
        key("ann", Us, Sandbox),
        key("ann", Eu, Production),
        key("ann", Ca, Developer),
        key("o'brien\"; DROP TABLE x; --", Jp, Production),
        key("zoë 🦀", Sa, Sandbox),
        key("", Cn, Production),
    ];
    for (i, k) in keys.iter().enumerate() {
        let mut t = token(k, &format!("at-{i}"), &format!("rt-{i}"), i as i64);
        if i == 0 {
            t.access_token = None; // an invalidated access token
        }
        if i == 1 {
            t.refresh_token = None; // an online grant
        }
        store.put(&t).await.unwrap();
    }
    for (i, k) in keys.iter().enumerate() {
        let got = other.get(k).await.unwrap().unwrap();
        assert_eq!(&got.key, k);
        assert_eq!(got.expires_at_ms, i as i64);
        assert_eq!(got.access_token.is_none(), i == 0);
        assert_eq!(got.refresh_token.is_none(), i == 1);
    }
    let mut expected: Vec<TokenKey> = keys.to_vec();
    expected.push(ann_us.clone());
    expected.sort();
    assert_eq!(store.list().await.unwrap(), expected);
    for user in expected.iter().map(|k| k.user.clone()).chain(["nobody".to_owned(), "%".to_owned()]) {
        let mine: Vec<TokenKey> = expected.iter().filter(|k| k.user == user).cloned().collect();
        assert_eq!(other.list_user(&user).await.unwrap(), mine, "list_user({user:?})");
    }
    assert!(other.delete(&keys[5]).await.unwrap());
    assert!(!store.delete(&keys[5]).await.unwrap());
    assert!(store.get(&keys[5]).await.unwrap().is_none());

    // A lease sees the stored token; commit writes, release and drop write nothing.
    let lease = within("begin_refresh", store.begin_refresh(&ann_us)).await.unwrap();
    assert_eq!(access(lease.current().unwrap()), "1000.at.2");
    let mut fresh = lease.current().unwrap().clone();
    fresh.access_token = Some(AccessToken::new("1000.at.3"));
    fresh.updated_at_ms = 9_000;
    within("commit", lease.commit(&fresh)).await.unwrap();
    assert_eq!(access(&other.get(&ann_us).await.unwrap().unwrap()), "1000.at.3");

    let lease = within("begin_refresh", other.begin_refresh(&ann_us)).await.unwrap();
    within("release", lease.release()).await.unwrap();
    let lease = within("begin_refresh after release", store.begin_refresh(&ann_us)).await.unwrap();
    drop(lease);
    let lease = within("begin_refresh after drop", other.begin_refresh(&ann_us)).await.unwrap();
    // Committing another key's token is refused, writes nothing and releases the lock.
    let wrong = token(&keys[0], "x", "y", 1);
    let err = lease.commit(&wrong).await.unwrap_err();
    assert!(matches!(err, StoreError::KeyMismatch { .. }), "{err}");
    assert_eq!(access(&store.get(&ann_us).await.unwrap().unwrap()), "1000.at.3");
    assert_eq!(store.get(&keys[0]).await.unwrap().unwrap().expires_at_ms, 0);

    // A lease on a key with no token.
    let nobody = key("nobody", Us, Production);
    let lease = within("begin_refresh on a missing key", store.begin_refresh(&nobody)).await.unwrap();
    assert!(lease.current().is_none());
    lease.release().await.unwrap();

    // Lease while the other handle holds one: waits, then sees the holder's commit.
    let held = within("begin_refresh", store.begin_refresh(&ann_us)).await.unwrap();
    let waiter = other.begin_refresh(&ann_us);
    tokio::pin!(waiter);
    assert!(
        tokio::time::timeout(Duration::from_millis(150), &mut waiter).await.is_err(),
        "a second lease was granted while the first was held"
    );
    let mut next = held.current().unwrap().clone();
    next.access_token = Some(AccessToken::new("1000.at.4"));
    held.commit(&next).await.unwrap();
    let lease = within("waiting lease", waiter).await.unwrap();
    assert_eq!(access(lease.current().unwrap()), "1000.at.4");
    lease.release().await.unwrap();

    lease_scoped_writes(store, other).await;
}

/// Connection writes through the lease: commit on a key with no row inserts it (a new
/// consent), delete removes the row (a disconnect), both release the lease, and a delete
/// waits for a refresh in flight instead of racing it.
async fn lease_scoped_writes(store: &dyn TokenStore, other: &dyn TokenStore) {
    let newcomer = key("newcomer", DataCenter::Eu, Environment::Production);
    let lease = within("begin_refresh on a new key", store.begin_refresh(&newcomer)).await.unwrap();
    assert!(lease.current().is_none());
    within("commit of a new row", lease.commit(&token(&newcomer, "1000.at.new", "1000.rt.new", 42))).await.unwrap();
    let got = other.get(&newcomer).await.unwrap().expect("commit inserted the row");
    assert_eq!((access(&got), refresh(&got), got.expires_at_ms), ("1000.at.new", "1000.rt.new", 42));
    assert_eq!(got.created_at_ms, 1_000);

    let lease = within("begin_refresh after commit", other.begin_refresh(&newcomer)).await.unwrap();
    assert_eq!(access(lease.current().unwrap()), "1000.at.new");
    assert!(within("delete under the lease", lease.delete()).await.unwrap());
    assert!(store.get(&newcomer).await.unwrap().is_none());
    let lease = within("begin_refresh after delete", store.begin_refresh(&newcomer)).await.unwrap();
    assert!(lease.current().is_none());
    assert!(!within("delete of a missing row", lease.delete()).await.unwrap());

    // A disconnect while a refresh is in flight waits for it and then wins.
    store.put(&token(&newcomer, "1000.at.old", "1000.rt.new", 1)).await.unwrap();
    let refresh_lease = within("refresh lease", store.begin_refresh(&newcomer)).await.unwrap();
    let disconnect = async {
        let lease = other.begin_refresh(&newcomer).await.unwrap();
        lease.delete().await.unwrap()
    };
    tokio::pin!(disconnect);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut disconnect).await.is_err(),
        "the disconnect did not wait for the refresh in flight"
    );
    refresh_lease.commit(&token(&newcomer, "1000.at.refreshed", "1000.rt.new", 2)).await.unwrap();
    assert!(within("disconnect", disconnect).await);
    assert!(other.get(&newcomer).await.unwrap().is_none(), "the refresh wrote the token back");
    assert!(store.list().await.unwrap().iter().all(|k| k != &newcomer));
}

/// Many tasks on two handles find the token stale at once: exactly one refreshes, the others
/// see its result under the lease.
pub async fn single_flight(a: Arc<dyn TokenStore>, b: Arc<dyn TokenStore>) {
    let k = key("flight", DataCenter::Eu, Environment::Production);
    a.put(&token(&k, "stale", "1000.rt", 0)).await.unwrap();
    let refreshes = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
        let (k, refreshes) = (k.clone(), Arc::clone(&refreshes));
        tasks.push(tokio::spawn(async move {
            let lease = store.begin_refresh(&k).await.unwrap();
            let current = lease.current().unwrap().clone();
            if access(&current) == "stale" {
                refreshes.fetch_add(1, Ordering::SeqCst);
                // Stands in for the token call: the others must wait, not refresh too.
                tokio::time::sleep(Duration::from_millis(30)).await;
                let mut fresh = current.clone();
                fresh.access_token = Some(AccessToken::new("fresh"));
                fresh.expires_at_ms = 3_600_000;
                lease.commit(&fresh).await.unwrap();
            } else {
                assert_eq!(access(&current), "fresh");
                lease.release().await.unwrap();
            }
        }));
    }
    for t in tasks {
        within("refresh task", t).await.unwrap();
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "more than one task refreshed");
    assert_eq!(access(&a.get(&k).await.unwrap().unwrap()), "fresh");
}

/// A random number in `0..bound` (getrandom; no rand crate).
pub fn random_below(bound: u64) -> u64 {
    getrandom::u64().expect("random") % bound.max(1)
}

#[cfg(feature = "postgres")]
pub mod pg {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Where the tests' PostgreSQL is (override with `ZOHOCRM_TEST_PG`).
    pub fn conn_str() -> String {
        std::env::var("ZOHOCRM_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
    }

    /// A unique schema for one test, dropped (with everything in it) when this is dropped.
    pub struct TestSchema {
        pub conn_str: String,
        pub name: String,
    }

    /// Set to `1` to skip every PostgreSQL test (each prints a `SKIPPED` line to stderr).
    pub const SKIP_VAR: &str = "ZOHOCRM_SKIP_POSTGRES";

    /// Whether the PostgreSQL tests are switched off (`ZOHOCRM_SKIP_POSTGRES=1`); if so, writes
    /// `SKIPPED (ZOHOCRM_SKIP_POSTGRES=1): <test name>` to stderr (uncaptured). `test` is used when the
    /// thread has no name (libtest names it after the test).
    pub fn skipped(test: &str) -> bool {
        if std::env::var(SKIP_VAR).is_ok_and(|v| v.trim() == "1") {
            let current = std::thread::current();
            let name = current.name().filter(|n| *n != "main").unwrap_or(test);
            // Straight to the stderr handle: libtest captures `eprintln!` of passing tests.
            let line = format!("SKIPPED ({SKIP_VAR}=1): {name}\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            return true;
        }
        false
    }

    /// Panics with what to do when PostgreSQL cannot be reached (the tests must not pass
    /// silently without it).
    pub async fn require_server(conn_str: &str) {
        if let Err(e) = tokio_postgres::connect(conn_str, tokio_postgres::NoTls).await {
            panic!(
                "PostgreSQL at {conn_str:?} is unreachable ({e}): start it, point ZOHOCRM_TEST_PG at one, \
                 or set {SKIP_VAR}=1 to skip the PostgreSQL tests"
            );
        }
    }

    impl TestSchema {
        /// A fresh schema name for `test`; `None` (after a `SKIPPED` line on stderr) when
        /// `ZOHOCRM_SKIP_POSTGRES=1`. Panics when PostgreSQL is unreachable.
        pub async fn new(test: &str) -> Option<Self> {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            if skipped(test) {
                return None;
            }
            let conn_str = conn_str();
            require_server(&conn_str).await;
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
            let name = format!(
                "zt_{}_{}_{}_{}",
                test.chars().filter(char::is_ascii_alphanumeric).take(20).collect::<String>(),
                std::process::id(),
                nanos,
                COUNTER.fetch_add(1, Ordering::SeqCst)
            );
            Some(Self { conn_str, name })
        }

        /// A plain client for test setup and inspection.
        pub async fn client(&self) -> tokio_postgres::Client {
            let (client, conn) = tokio_postgres::connect(&self.conn_str, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            client
        }
    }

    /// Runs `sql` for a test's clean-up (`what` names it in the message if it fails), on its own
    /// thread and runtime so it works inside a runtime and while unwinding from a failed
    /// assertion.
    pub fn clean_up(conn_str: &str, sql: String, what: &str) {
        let conn_str = conn_str.to_owned();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls).await?;
                tokio::spawn(conn);
                client.batch_execute(&sql).await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop {what}: {done:?}");
        }
    }

    impl Drop for TestSchema {
        fn drop(&mut self) {
            let name = &self.name;
            clean_up(
                &self.conn_str,
                format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"),
                &format!("test schema {name}"),
            );
        }
    }
}

/// Child-process plumbing for the kill tests: the parent re-runs this test binary with
/// `--ignored --exact <helper>` and an environment variable telling the helper what to do.
pub mod child {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::Duration;

    /// The line a child prints once its store is open.
    pub const READY: &str = "zohocrm-child-ready";

    /// Progress a child reported before it died.
    #[derive(Default, Debug)]
    pub struct Progress {
        /// The last `n` the child reported committed, per key index.
        pub committed: Vec<i64>,
        pub commits: usize,
        /// Whether the child's last report was "leased": it died holding the lease.
        pub died_holding_lease: bool,
    }

    pub struct Running {
        pub child: Child,
        pub progress: Arc<Mutex<Progress>>,
        pub ready: mpsc::Receiver<()>,
        reader: Option<std::thread::JoinHandle<()>>,
    }

    /// Starts `helper` in a child copy of this test binary with `envs`.
    pub fn spawn(helper: &str, envs: &[(&str, String)], keys: usize) -> Running {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--exact", helper, "--nocapture", "--test-threads=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn child test binary");
        let stdout = child.stdout.take().unwrap();
        let progress =
            Arc::new(Mutex::new(Progress { committed: vec![-1; keys], commits: 0, died_holding_lease: false }));
        let (tx, ready) = mpsc::channel();
        let p = Arc::clone(&progress);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest prints "test <name> ... " without a newline before the test runs.
                if line.ends_with(READY) {
                    let _ = tx.send(());
                } else if let Some(rest) = line.strip_prefix("committed ") {
                    let mut parts = rest.split(' ');
                    let (Some(k), Some(n)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    let (k, n): (usize, i64) = (k.parse().unwrap(), n.parse().unwrap());
                    let mut p = p.lock().unwrap();
                    p.committed[k] = p.committed[k].max(n);
                    p.commits += 1;
                    p.died_holding_lease = false;
                } else if line.starts_with("leased ") {
                    p.lock().unwrap().died_holding_lease = true;
                }
            }
        });
        Running { child, progress, ready, reader: Some(reader) }
    }

    impl Running {
        /// Waits for the child's [`READY`] line.
        pub fn wait_ready(&mut self) {
            if self.ready.recv_timeout(Duration::from_secs(10)).is_err() {
                let _ = self.child.kill();
                let out = self.child.wait_with_output_stderr();
                panic!("child never became ready; stderr:\n{out}");
            }
        }

        /// SIGKILLs the child and returns what it reported. Panics if the child had already
        /// exited on its own (it failed a check).
        pub fn kill(mut self) -> Progress {
            let _ = self.child.kill();
            let status = self.child.wait().unwrap();
            if let Some(reader) = self.reader.take() {
                reader.join().unwrap();
            }
            if status.code().is_some() {
                let stderr = self.child.wait_with_output_stderr();
                panic!("child exited by itself ({status}) instead of being killed; stderr:\n{stderr}");
            }
            std::mem::take(&mut *self.progress.lock().unwrap())
        }

        /// Waits for the child to finish by itself; panics if it failed.
        pub fn finish(mut self) -> Progress {
            let status = self.child.wait().unwrap();
            if let Some(reader) = self.reader.take() {
                reader.join().unwrap();
            }
            if !status.success() {
                let stderr = self.child.wait_with_output_stderr();
                panic!("child failed ({status}); stderr:\n{stderr}");
            }
            std::mem::take(&mut *self.progress.lock().unwrap())
        }
    }

    trait StderrText {
        fn wait_with_output_stderr(&mut self) -> String;
    }

    impl StderrText for Child {
        fn wait_with_output_stderr(&mut self) -> String {
            use std::io::Read;
            let mut text = String::new();
            if let Some(mut e) = self.stderr.take() {
                let _ = e.read_to_string(&mut text);
            }
            text
        }
    }
}

/// Rows written by the kill tests: every column derives from one counter `n`, so a half
/// written row is detectable, and the refresh token never changes.
pub mod rows {
    use super::*;

    pub const REFRESH: &str = "1000.refresh-token-that-must-survive";
    const PAD: &str = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz";

    pub fn keys() -> Vec<TokenKey> {
        vec![
            key("kill-a", DataCenter::Us, Environment::Production),
            key("kill-b", DataCenter::Eu, Environment::Sandbox),
            key("kill-c", DataCenter::In, Environment::Developer),
        ]
    }

    pub fn row(k: &TokenKey, n: i64) -> Token {
        let mut t = token(k, &format!("at-{n}-{}", PAD.repeat(4)), REFRESH, n);
        t.scopes = vec![format!("n{n}")];
        t.updated_at_ms = n;
        t
    }

    /// Checks that `t` is a whole row written by [`row`] and returns its `n`.
    pub fn check_whole(t: &Token) -> i64 {
        let n = t.expires_at_ms;
        assert_eq!(access(t), format!("at-{n}-{}", PAD.repeat(4)), "access token of {} does not match n={n}", t.key);
        assert_eq!(refresh(t), REFRESH, "refresh token of {} changed", t.key);
        assert_eq!(t.scopes, vec![format!("n{n}")], "scopes of {} do not match n={n}", t.key);
        assert_eq!(t.updated_at_ms, n, "updated_at of {} does not match n={n}", t.key);
        n
    }

    /// The child side of the kill and sharing tests: `begin_refresh` → check the row is whole
    /// → commit `n + 1` → print `committed <key index> <n>`, round-robin over the keys, for
    /// `limit` iterations (or until killed, at most 30 s).
    pub async fn refresh_loop(store: &dyn TokenStore, keys: &[TokenKey], limit: Option<usize>) {
        println!("{}", child::READY);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut i = 0;
        while limit.is_none_or(|l| i < l) && std::time::Instant::now() < deadline {
            let idx = if limit.is_some() { 0 } else { i % keys.len() };
            let lease = store.begin_refresh(&keys[idx]).await.unwrap();
            println!("leased {idx}");
            let n = check_whole(lease.current().expect("seeded row"));
            lease.commit(&row(&keys[idx], n + 1)).await.unwrap();
            println!("committed {idx} {}", n + 1);
            i += 1;
        }
    }
}
