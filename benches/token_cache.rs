//! The hot path: handing out a cached, fresh access token, against the cheapest possible cache
//! (a `RwLock<HashMap>` lookup and a string clone) measured in the same run.
//!
//! `cargo bench --bench token_cache` — read the ratio, not the absolute numbers.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, RwLock};

use criterion::{Criterion, criterion_group, criterion_main};
use zohocrm::clock::{Clock, ManualClock};
use zohocrm::manager::{RefreshPolicy, TokenManager};
use zohocrm::oauth::OAuthClient;
use zohocrm::store::MemoryStore;
use zohocrm::{AccessToken, ClientCredentials, DataCenter, Endpoints, Environment, RefreshToken, Token, TokenKey};

fn token(user: &str, now: i64) -> Token {
    Token {
        key: TokenKey::new(user, DataCenter::Eu, Environment::Production),
        access_token: Some(AccessToken::new(format!("1000.{user:0>32}.{:0>32}", 7))),
        refresh_token: Some(RefreshToken::new("1000.refresh")),
        expires_at_ms: now + 3_600_000,
        api_domain: "https://www.zohoapis.eu".into(),
        accounts_server: "https://accounts.zoho.eu".into(),
        scopes: vec!["ZohoCRM.modules.ALL".into()],
        created_at_ms: now,
        updated_at_ms: now,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let now = clock.now_ms();
    let http = zohocrm::transport::http_client_builder().build().unwrap();
    let oauth = OAuthClient::new(
        http,
        Arc::new(Endpoints::zoho()),
        Arc::new(ClientCredentials::new("1000.BENCH", "secret")),
        Arc::new(clock.clone()),
    );
    let manager = TokenManager::new(
        Arc::new(MemoryStore::new()),
        Arc::new(oauth),
        Arc::new(clock),
        RefreshPolicy::default(),
        100_000,
    );
    // 10,000 connected users, as a busy web app would have.
    let mut baseline: HashMap<TokenKey, AccessToken> = HashMap::new();
    rt.block_on(async {
        for i in 0..10_000 {
            let t = token(&format!("user-{i}"), now);
            baseline.insert(t.key.clone(), t.access_token.clone().unwrap());
            manager.insert(t).await.unwrap();
        }
    });
    let baseline = Arc::new(RwLock::new(baseline));
    let key = TokenKey::new("user-4242", DataCenter::Eu, Environment::Production);

    let mut group = c.benchmark_group("cached_access_token");
    group.bench_function("baseline_rwlock_hashmap", |b| {
        // Driven through the same async runtime as the manager, so only the cache differs.
        b.to_async(&rt).iter(|| async { black_box(baseline.read().unwrap().get(black_box(&key)).cloned()) })
    });
    group.bench_function("token_manager", |b| {
        b.to_async(&rt).iter(|| async { black_box(manager.access_token(black_box(&key)).await.unwrap()) })
    });
    group.finish();

    // Contention: 8 tasks on 2 worker threads asking for tokens of different users at once.
    let mut group = c.benchmark_group("cached_access_token_8_tasks_x_1000");
    group.sample_size(20);
    group.bench_function("baseline_rwlock_hashmap", |b| {
        b.to_async(&rt).iter(|| {
            let baseline = baseline.clone();
            async move {
                let mut set = tokio::task::JoinSet::new();
                for t in 0..8 {
                    let baseline = baseline.clone();
                    set.spawn(async move {
                        for i in 0..1000 {
                            let key = TokenKey::new(
                                format!("user-{}", (t * 1000 + i) % 10_000),
                                DataCenter::Eu,
                                Environment::Production,
                            );
                            black_box(baseline.read().unwrap().get(&key).cloned());
                        }
                    });
                }
                while set.join_next().await.is_some() {}
            }
        })
    });
    group.bench_function("token_manager", |b| {
        b.to_async(&rt).iter(|| {
            let manager = manager.clone();
            async move {
                let mut set = tokio::task::JoinSet::new();
                for t in 0..8 {
                    let manager = manager.clone();
                    set.spawn(async move {
                        for i in 0..1000 {
                            let key = TokenKey::new(
                                format!("user-{}", (t * 1000 + i) % 10_000),
                                DataCenter::Eu,
                                Environment::Production,
                            );
                            black_box(manager.access_token(&key).await.unwrap());
                        }
                    });
                }
                while set.join_next().await.is_some() {}
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
