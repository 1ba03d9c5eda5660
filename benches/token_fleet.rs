//! The token hot path at fleet scale: 1 and 64 tasks over 10,000 and 100,000 connections, against
//! the cheapest possible cache (a `RwLock<HashMap>` lookup and a string clone) in the same run;
//! memory per cached connection (over a store that shares its tokens with the cache, and over one
//! that decodes a fresh copy per read, as the SQL stores do); and a cache 10× smaller than the fleet (every miss evicts one
//! connection and reloads another from the store), with latency percentiles.
//!
//! `cargo bench --bench token_fleet` (criterion groups, then a printed `fleet:` summary).
//! `cargo bench --bench token_fleet -- --test` runs every part once, reduced (CI smoke).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use zohocrm::clock::ManualClock;
use zohocrm::manager::{RefreshPolicy, TokenManager};
use zohocrm::oauth::OAuthClient;
use zohocrm::store::{MemoryStore, RefreshLease, StoreError, TokenStore};
use zohocrm::{AccessToken, ClientCredentials, DataCenter, Endpoints, Environment, RefreshToken, Token, TokenKey};

const NOW: i64 = 1_700_000_000_000;

/// The system allocator, counting the bytes live on the heap (as requested, without the
/// allocator's own rounding and headers, which RSS includes): exact where RSS depends on what
/// the allocator already holds.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counter has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// True for `cargo bench -- --test` and for `cargo test --benches` (no `--bench` argument).
fn smoke() -> bool {
    std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench")
}

fn token(key: &TokenKey) -> Token {
    Token {
        key: key.clone(),
        access_token: Some(AccessToken::new(format!("1000.{:0>32}.{:0>32}", key.user, 7))),
        // Zoho's refresh tokens are as long as its access tokens.
        refresh_token: Some(RefreshToken::new(format!("1000.{:0>32}.{:0>32}", key.user, 9))),
        expires_at_ms: NOW + 3_600_000,
        api_domain: "https://www.zohoapis.eu".into(),
        accounts_server: "https://accounts.zoho.eu".into(),
        scopes: vec!["ZohoCRM.modules.ALL".into()],
        created_at_ms: NOW,
        updated_at_ms: NOW,
    }
}

fn keys(n: usize) -> Arc<Vec<TokenKey>> {
    Arc::new((0..n).map(|i| TokenKey::new(format!("user-{i}"), DataCenter::Eu, Environment::Production)).collect())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A memory store that hands out a fresh copy on every read, as the SQL stores do (it keeps
/// [`TokenStore::get_shared`]'s default), so the cache holds its own copy of each token.
#[derive(Debug)]
struct CopyingStore(MemoryStore);

#[async_trait::async_trait]
impl TokenStore for CopyingStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        self.0.get(key).await
    }
    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        self.0.put(token).await
    }
    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError> {
        self.0.delete(key).await
    }
    async fn list(&self) -> Result<Vec<TokenKey>, StoreError> {
        self.0.list().await
    }
    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        self.0.begin_refresh(key).await
    }
}

/// A manager of `capacity` over a memory store holding a token for every key.
fn manager(rt: &tokio::runtime::Runtime, keys: &[TokenKey], capacity: usize) -> TokenManager {
    manager_over(rt, keys, capacity, true)
}

/// A manager of `capacity` over a memory store holding a token for every key; with `shared`
/// false, the store hands out copies (see [`CopyingStore`]).
fn manager_over(rt: &tokio::runtime::Runtime, keys: &[TokenKey], capacity: usize, shared: bool) -> TokenManager {
    let clock = ManualClock::new(NOW);
    let http = zohocrm::transport::http_client_builder().build().expect("http client");
    let oauth = OAuthClient::new(
        http,
        Arc::new(Endpoints::zoho()),
        Arc::new(ClientCredentials::new("1000.BENCH", "secret")),
        Arc::new(clock.clone()),
    );
    let memory = MemoryStore::new();
    rt.block_on(async {
        for key in keys {
            memory.put(&token(key)).await.expect("put");
        }
    });
    let store: Arc<dyn TokenStore> = if shared { Arc::new(memory) } else { Arc::new(CopyingStore(memory)) };
    TokenManager::new(store, Arc::new(oauth), Arc::new(clock), RefreshPolicy::default(), capacity)
}

/// Loads every connection into the cache (one store read each), then checks that acquisitions
/// read the store no more.
fn warm(rt: &tokio::runtime::Runtime, manager: &TokenManager, keys: &[TokenKey]) {
    rt.block_on(async {
        for key in keys {
            manager.access_token(key).await.expect("token");
        }
        let loads = manager.store_load_count();
        for key in keys.iter().take(1000) {
            manager.access_token(key).await.expect("token");
        }
        assert_eq!(manager.store_load_count(), loads, "0 store reads after warm-up");
    });
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

type Baseline = Arc<RwLock<HashMap<TokenKey, AccessToken>>>;

/// `tasks` tasks, each doing `per_task` acquisitions over keys spread over the fleet.
async fn run_tasks<F, Fut>(tasks: usize, per_task: u64, n: usize, f: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let f = f.clone();
        set.spawn(async move {
            let mut i = t * (n / tasks.max(1));
            for _ in 0..per_task {
                i = (i + 7919) % n;
                f(i).await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    start.elapsed()
}

fn hot_path(c: &mut Criterion, rt: &tokio::runtime::Runtime, n: usize) {
    let keys = keys(n);
    let manager = manager(rt, &keys, n);
    warm(rt, &manager, &keys);
    let baseline: Baseline =
        Arc::new(RwLock::new(keys.iter().map(|k| (k.clone(), token(k).access_token.unwrap_or_default())).collect()));
    let loads = manager.store_load_count();

    let mut group = c.benchmark_group(format!("token_hot_path_{n}_connections"));
    for tasks in [1usize, 64] {
        // One iteration = one acquisition per task.
        group.bench_function(BenchmarkId::new("baseline_rwlock_hashmap", tasks), |b| {
            b.iter_custom(|iters| {
                let (baseline, keys) = (baseline.clone(), keys.clone());
                rt.block_on(run_tasks(tasks, iters, n, move |i| {
                    let (baseline, keys) = (baseline.clone(), keys.clone());
                    async move {
                        black_box(baseline.read().unwrap_or_else(|p| p.into_inner()).get(&keys[i]).cloned());
                    }
                }))
            })
        });
        group.bench_function(BenchmarkId::new("token_manager", tasks), |b| {
            b.iter_custom(|iters| {
                let (manager, keys) = (manager.clone(), keys.clone());
                rt.block_on(run_tasks(tasks, iters, n, move |i| {
                    let (manager, keys) = (manager.clone(), keys.clone());
                    async move {
                        black_box(manager.access_token(&keys[i]).await.expect("token"));
                    }
                }))
            })
        });
    }
    group.finish();
    assert_eq!(manager.store_load_count(), loads, "the hot path read the store");
}

/// Latency percentiles of `tasks` tasks acquiring tokens of `n` connections at random through a
/// cache of `capacity`. With `hot`, 80% of acquisitions go to the first `hot` connections (the
/// active users; they fit in the cache) and 20% to the long tail: the hot entries are used
/// again between evictions, which a sweep must pass over.
fn percentiles(
    rt: &tokio::runtime::Runtime,
    n: usize,
    capacity: usize,
    tasks: usize,
    per_task: usize,
    hot: Option<usize>,
) -> String {
    let keys = keys(n);
    let manager = manager(rt, &keys, capacity);
    warm(rt, &manager, &keys[..capacity.min(n)]);
    let loads = manager.store_load_count();
    let start = Instant::now();
    let mut all: Vec<u64> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for t in 0..tasks {
            let (manager, keys) = (manager.clone(), keys.clone());
            set.spawn(async move {
                let mut lat = Vec::with_capacity(per_task);
                let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1);
                for _ in 0..per_task {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = match hot {
                        Some(h) if x % 10 < 8 => (x >> 8) % h as u64,
                        _ => (x >> 8) % n as u64,
                    };
                    let key = &keys[i as usize];
                    let t0 = Instant::now();
                    black_box(manager.access_token(key).await.expect("token"));
                    lat.push(t0.elapsed().as_nanos() as u64);
                }
                lat
            });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r.expect("task"));
        }
        all
    });
    let wall = start.elapsed();
    all.sort_unstable();
    let q = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    let misses = manager.store_load_count() - loads;
    assert!(manager.cached_len() <= capacity, "bounded");
    format!(
        "fleet: {n} connections{}, cache {capacity}, {tasks} tasks x {per_task}: {:.0} ns/acquisition (wall/count), \
         p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs, store reads {misses} ({:.1}%)",
        hot.map(|h| format!(" (80% of calls to {h} hot ones)")).unwrap_or_default(),
        wall.as_nanos() as f64 / all.len() as f64,
        q(0.50) as f64 / 1e3,
        q(0.99) as f64 / 1e3,
        q(0.999) as f64 / 1e3,
        all[all.len() - 1] as f64 / 1e3,
        100.0 * misses as f64 / all.len() as f64,
    )
}

/// RSS growth while `n` connections are loaded into the cache (the store already holds them),
/// per connection: over a store that shares its tokens with the cache (`shared`), the cache's
/// own structures; over one that hands out copies, those plus the cache's copy of each token.
fn memory(rt: &tokio::runtime::Runtime, n: usize, shared: bool) -> String {
    let keys = keys(n);
    let manager = manager_over(rt, &keys, n, shared);
    let (rss, heap) = (rss_bytes(), LIVE_BYTES.load(Ordering::Relaxed));
    warm(rt, &manager, &keys);
    let rss = rss_bytes().saturating_sub(rss) / n as u64;
    let heap = (LIVE_BYTES.load(Ordering::Relaxed) - heap) / n as isize;
    let what = if shared {
        "memory store, the token shared with the store"
    } else {
        "a store handing out copies like the SQL stores, the cache's token copy included"
    };
    format!(
        "fleet: memory per cached connection ({n} connections, {what}): RSS growth {rss} bytes, live heap {heap} bytes"
    )
}

/// Measures [`memory`] in a child process of this bench (the allocator of a fresh process
/// holds no freed pages, which a second measurement in the same process would reuse).
fn memory_in_child(n: usize, shared: bool) -> String {
    let out = std::process::Command::new(std::env::current_exe().expect("bench binary"))
        .args(std::env::args().skip(1))
        .env("ZOHOCRM_FLEET_MEMORY_CHILD", format!("{n},{shared}"))
        .output()
        .expect("memory child");
    assert!(out.status.success(), "memory child failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("fleet: memory"))
        .expect("memory line")
        .to_owned()
}

fn main() {
    let rt = runtime();
    let smoke = smoke();
    let mut report = Vec::new();
    if let Some(child) = std::env::var_os("ZOHOCRM_FLEET_MEMORY_CHILD") {
        let child = child.to_string_lossy().into_owned();
        let (n, shared) = child.split_once(',').expect("n,shared");
        println!("{}", memory(&rt, n.parse().expect("n"), shared == "true"));
        return;
    }
    // Memory first, each in a fresh process, before the allocator holds freed pages.
    for shared in [false, true] {
        report.push(memory_in_child(if smoke { 10_000 } else { 100_000 }, shared));
    }

    if std::env::var_os("ZOHOCRM_FLEET_ONLY_EVICTION").is_some() {
        for line in &report {
            println!("{line}");
        }
        // For `valgrind --tool=callgrind` and quick before/after runs: the eviction cases only.
        for hot in [None, Some(5_000)] {
            for tasks in [1, 64] {
                println!("{}", percentiles(&rt, 100_000, 10_000, tasks, if smoke { 2_000 } else { 20_000 }, hot));
            }
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args().sample_size(20).warm_up_time(Duration::from_secs(1));
    for n in [10_000, 100_000] {
        hot_path(&mut c, &rt, n);
    }

    let per_task = if smoke { 200 } else { 20_000 };
    for tasks in [1, 64] {
        report.push(percentiles(&rt, 100_000, 100_000, tasks, per_task, None));
    }
    for hot in [None, Some(5_000)] {
        for tasks in [1, 64] {
            report.push(percentiles(&rt, 100_000, 10_000, tasks, per_task, hot));
        }
    }
    c.final_summary();
    for line in report {
        println!("{line}");
    }
}
