//! Token store latency: `get`, `put` and a refresh lease (`begin_refresh` + `commit`) on the
//! SQLite store (a temporary file, WAL, `synchronous=FULL`: one fsync per commit) and the
//! PostgreSQL store (a throw-away schema on `ZOHOCRM_TEST_PG`, default
//! `host=127.0.0.1 port=5432 user=postgres dbname=test`), measured in the same run so the two
//! can be compared side by side in each group.
//!
//! `cargo bench --bench store_latency --no-default-features --features sqlite,postgres,rustls`
//! `cargo test --benches ...` (or `-- --test`) is the smoke run: every benchmark once.
//!
//! An unreachable PostgreSQL fails the bench; `ZOHOCRM_SKIP_POSTGRES=1` measures SQLite only.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use zohocrm::store::{PostgresStore, SqliteStore, TokenStore};
use zohocrm::{AccessToken, DataCenter, Environment, RefreshToken, Token, TokenKey};

/// Keys the benchmarks rotate over (every one stored before measuring).
const KEYS: usize = 50;

fn key(i: usize) -> TokenKey {
    TokenKey::new(format!("user{i}"), DataCenter::Us, Environment::Production)
}

fn token(i: usize) -> Token {
    Token {
        key: key(i),
        access_token: Some(AccessToken::new(format!("1000.{i:0>32}.access"))),
        refresh_token: Some(RefreshToken::new("1000.refresh")),
        expires_at_ms: 3_600_000,
        api_domain: "https://www.zohoapis.com".into(),
        accounts_server: "https://accounts.zoho.com".into(),
        scopes: vec!["ZohoCRM.modules.ALL".into()],
        created_at_ms: 1_000,
        updated_at_ms: 2_000,
    }
}

fn pg_conn_str() -> String {
    std::env::var("ZOHOCRM_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// The PostgreSQL store in a fresh schema, `None` with `ZOHOCRM_SKIP_POSTGRES=1`; panics with
/// what to do when the server is unreachable.
async fn postgres(schema: &str) -> Option<PostgresStore> {
    if std::env::var("ZOHOCRM_SKIP_POSTGRES").is_ok_and(|v| v.trim() == "1") {
        eprintln!("SKIPPED (ZOHOCRM_SKIP_POSTGRES=1): store_latency postgres");
        return None;
    }
    let conn_str = pg_conn_str();
    match PostgresStore::connect(&conn_str, schema).await {
        Ok(store) => Some(store),
        Err(e) => panic!(
            "PostgreSQL at {conn_str:?} is unreachable ({e}): start it, point ZOHOCRM_TEST_PG at one, \
             or set ZOHOCRM_SKIP_POSTGRES=1 to measure SQLite only"
        ),
    }
}

/// Drops the bench's schema (best effort).
async fn drop_schema(schema: &str) {
    if let Ok((client, conn)) = tokio_postgres::connect(&pg_conn_str(), tokio_postgres::NoTls).await {
        tokio::spawn(conn);
        if let Err(e) = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await {
            eprintln!("could not drop bench schema {schema}: {e}");
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let schema = format!("bench_store_latency_{}", std::process::id());
    let stores: Vec<(&str, Arc<dyn TokenStore>)> = rt.block_on(async {
        let sqlite = SqliteStore::open(dir.path().join("tokens.sqlite3")).await.expect("open SQLite store");
        let mut stores: Vec<(&str, Arc<dyn TokenStore>)> = vec![("sqlite", Arc::new(sqlite))];
        if let Some(pg) = postgres(&schema).await {
            stores.push(("postgres", Arc::new(pg)));
        }
        for (_, store) in &stores {
            for i in 0..KEYS {
                store.put(&token(i)).await.expect("seed token");
            }
        }
        stores
    });

    let mut group = c.benchmark_group("store_get");
    for (name, store) in &stores {
        let next = AtomicUsize::new(0);
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| {
                let k = key(next.fetch_add(1, Ordering::Relaxed) % KEYS);
                let store = Arc::clone(store);
                async move { black_box(store.get(&k).await.expect("get").expect("stored")) }
            })
        });
    }
    group.finish();

    // Writes fsync (SQLite) or commit over the network (PostgreSQL): fewer, longer samples.
    for (group_name, lease) in [("store_put", false), ("store_lease_commit", true)] {
        let mut group = c.benchmark_group(group_name);
        group.sample_size(30).measurement_time(Duration::from_secs(4));
        for (name, store) in &stores {
            let next = AtomicUsize::new(0);
            group.bench_function(*name, |b| {
                b.to_async(&rt).iter(|| {
                    let t = token(next.fetch_add(1, Ordering::Relaxed) % KEYS);
                    let store = Arc::clone(store);
                    async move {
                        if lease {
                            let lease = store.begin_refresh(&t.key).await.expect("begin_refresh");
                            black_box(lease.current());
                            lease.commit(&t).await.expect("commit");
                        } else {
                            store.put(&t).await.expect("put");
                        }
                    }
                })
            });
        }
        group.finish();
    }

    rt.block_on(async {
        drop(stores);
        drop_schema(&schema).await;
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
