//! The fault matrix (issue #11, item 2): every fault the simulator injects × every kind of
//! call the SDK makes, each fault once (a retry should absorb it) and for more requests than
//! the retry policy's attempts (the typed error must come through).
//!
//! Every cell runs against its own simulator and its own SQLite file, and checks, besides the
//! outcome in the expected table: no panic, the attempts seen at the simulator within the
//! policy's limit, no token lost or overwritten in the store, and no duplicated write (the
//! records carrying the cell's marker in the org). The test prints the whole matrix.
#![cfg(all(feature = "testkit", feature = "sqlite"))]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{Harness, SCOPES, user_in};
use zohocrm::client::{Criteria, Record, RecordQuery, Search};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::error::RateLimitScope;
use zohocrm::retry::RetryPolicy;
use zohocrm::store::{SqliteStore, TokenStore};
use zohocrm::testkit::{self, Decision, Fault, Route, Simulator};
use zohocrm::{Error, Token, Zoho};

/// Attempts per call in the matrix (the default policy's).
const MAX_ATTEMPTS: u32 = 3;
/// "Many": more faulted requests than attempts.
const MANY: usize = 5;
/// The SDK's read timeout in the matrix; [`Fault::Latency`] waits longer than this.
const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// The delay of the latency fault (longer than [`READ_TIMEOUT`]).
const LATENCY: Duration = Duration::from_millis(2500);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Exchange,
    Refresh,
    Read,
    Write,
    Revoke,
}

const CALLS: [Call; 5] = [Call::Exchange, Call::Refresh, Call::Read, Call::Write, Call::Revoke];

/// The faults, by row name.
fn faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("429 Retry-After: 1", Fault::TooManyRequests { retry_after_secs: 1 }),
        ("429 Retry-After: 60", Fault::TooManyRequests { retry_after_secs: 60 }),
        ("429 no Retry-After", Fault::TooManyRequestsWithoutRetryAfter),
        ("500 INTERNAL_ERROR", Fault::Status(500)),
        ("502 HTML", Fault::Status(502)),
        ("503 HTML", Fault::Status(503)),
        ("latency > read timeout", Fault::Latency(LATENCY)),
        ("dropped connection", Fault::DropConnection),
        ("truncated body", Fault::TruncatedBody),
        ("non-JSON body", Fault::NonJsonBody),
    ]
}

/// What one cell did.
#[derive(Debug)]
struct Observed {
    /// `ok`, or the error as `Variant(detail) r=<is_retryable> s=<may_have_been_sent>`.
    outcome: String,
    /// Requests of the call's kind the simulator saw.
    attempts: usize,
    /// Records the cell's insert left in the org (writes only).
    created: Option<usize>,
}

fn describe(e: &Error) -> String {
    let kind = match e {
        Error::Transport { kind, .. } => format!("Transport({kind:?})"),
        Error::Api { status, code, .. } => format!("Api({status} {code})"),
        Error::Decode { status, .. } => format!("Decode({status})"),
        Error::RateLimited { scope, retry_after } => format!("RateLimited({scope:?} {}s)", retry_after.as_secs()),
        Error::OAuth { error, .. } => format!("OAuth({error})"),
        other => format!("{other:?}").split(['{', '(', ' ']).next().unwrap_or("?").to_owned(),
    };
    format!("{kind} r={} s={}", u8::from(e.is_retryable()), u8::from(e.may_have_been_sent()))
}

async fn harness(dir: &std::path::Path) -> (Harness, Arc<dyn TokenStore>) {
    let sim = Simulator::start().await.unwrap();
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open(dir.join("tokens.sqlite3")).await.unwrap());
    let policy = RetryPolicy::default()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .with_max_retry_after(Duration::from_secs(20));
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&sim))
        .clock(sim.clock())
        .shared_store(store.clone())
        .retry_policy(policy)
        .read_timeout(READ_TIMEOUT)
        .total_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    (Harness { sim, zoho }, store)
}

fn same<S: std::fmt::Display>(a: &Option<S>, b: &Option<S>, expose: impl Fn(&S) -> &str) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => expose(a) == expose(b),
        (None, None) => true,
        _ => false,
    }
}

/// Records in the US production org whose `Last_Name` is `marker`.
async fn records_named(h: &Harness, token: &Token, marker: &str) -> usize {
    let crm = h.zoho.client(&token.key).await.unwrap();
    let search = Search::Criteria(Criteria::try_equals("Last_Name", marker).unwrap());
    crm.search_page("Leads", &search, 1, 200).await.unwrap().items.len()
}

/// A latency-faulted request is processed after its delay even when the SDK gave up on it:
/// wait for that before counting what the simulator saw.
async fn settle(fault: &Fault) {
    if matches!(fault, Fault::Latency(_)) {
        tokio::time::sleep(LATENCY + Duration::from_millis(300)).await;
    }
}

/// Runs one cell: `fault` on the next `times` requests of the call's route.
async fn cell(call: Call, fault: Fault, times: usize, marker: String) -> Observed {
    let dir = tempfile::tempdir().unwrap();
    let (h, store) = harness(dir.path()).await;
    let email = user_in(&h.sim, DataCenter::Us);
    let requests = |route: Route, pick: &dyn Fn(&zohocrm::testkit::LoggedRequest) -> bool| {
        h.sim.requests().iter().filter(|r| r.route == route && pick(r)).count()
    };
    let max = MAX_ATTEMPTS as usize;
    match call {
        Call::Exchange => {
            let (url, pending) = h
                .zoho
                .authorization(testkit::DEFAULT_REDIRECT_URI)
                .scopes(SCOPES.iter().copied())
                .build(h.zoho.endpoints())
                .unwrap();
            let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
            h.sim.inject(Route::Token, fault.clone(), times);
            let result = h.zoho.complete_authorization("matrix", &redirect, &pending).await;
            h.sim.clear_faults();
            settle(&fault).await;
            let attempts = h.sim.count_grant("authorization_code");
            assert!(attempts <= 1, "a code exchange is never repeated ({attempts})");
            let key = zohocrm::TokenKey::new("matrix", DataCenter::Us, Environment::Production);
            let stored = store.get(&key).await.unwrap();
            match &result {
                Ok(t) => assert!(
                    same(&stored.unwrap().refresh_token, &t.refresh_token, zohocrm::RefreshToken::expose),
                    "the new token is stored"
                ),
                Err(_) => assert!(stored.is_none(), "nothing stored after a failed exchange"),
            }
            Observed { outcome: result.map_or_else(|e| describe(&e), |_| "ok".into()), attempts, created: None }
        }
        Call::Refresh | Call::Read | Call::Write => {
            let token = common::connect(&h, "matrix", &email, Environment::Production).await;
            let crm = h.zoho.client(&token.key).await.unwrap();
            h.sim.clear_requests();
            let route = if call == Call::Refresh {
                h.sim.advance(Duration::from_secs(3600));
                Route::Token
            } else {
                Route::Records
            };
            h.sim.inject(route, fault.clone(), times);
            let result = match call {
                Call::Refresh => crm.org().await.map(|_| ()),
                Call::Read => crm.records_page("Leads", &RecordQuery::default(), 1).await.map(|_| ()),
                _ => {
                    let mut record = Record::default();
                    record.extra.insert("Last_Name".into(), marker.clone().into());
                    record.extra.insert("Company".into(), "Fault matrix".into());
                    crm.insert_records("Leads", vec![record]).await.map(|r| {
                        assert_eq!(r.len(), 1);
                        assert!(r[0].is_success(), "{r:?}");
                    })
                }
            };
            h.sim.clear_faults();
            settle(&fault).await;
            let attempts = match call {
                Call::Refresh => h.sim.count_grant("refresh_token"),
                Call::Read => requests(Route::Records, &|r| r.method == "GET"),
                _ => requests(Route::Records, &|r| r.method == "POST"),
            };
            assert!(attempts <= max, "{call:?}: {attempts} attempts > {max}");
            // The refresh token is never lost or replaced; a failed refresh keeps the old token.
            let stored = store.get(&token.key).await.unwrap().expect("the connection is still stored");
            assert!(
                same(&stored.refresh_token, &token.refresh_token, zohocrm::RefreshToken::expose),
                "refresh token intact"
            );
            if call == Call::Refresh {
                let refreshed = !same(&stored.access_token, &token.access_token, zohocrm::AccessToken::expose);
                assert_eq!(refreshed, result.is_ok(), "a new access token is stored exactly when the refresh worked");
            }
            let mut created_seen = None;
            if call == Call::Write {
                let created = records_named(&h, &token, &marker).await;
                assert!(created <= 1, "{created} records from one insert: a duplicated write");
                if result.is_ok() {
                    assert_eq!(created, 1, "the insert that succeeded is in the org");
                }
                if let Err(e) = &result
                    && created == 1
                {
                    assert!(e.may_have_been_sent(), "a write that landed must say it may have been sent: {e:?}");
                }
                created_seen = Some(created);
            }
            // The connection still works once the faults are gone (and the remembered
            // failure, or the token-endpoint back-off after a 429, has passed).
            let throttled = matches!(&result, Err(Error::RateLimited { scope: RateLimitScope::TokenEndpoint, .. }));
            h.sim.advance(Duration::from_secs(if throttled { 601 } else { 6 }));
            crm.org().await.unwrap_or_else(|e| panic!("{call:?} after {:?}: {e:?}", h.sim.requests()));
            Observed { outcome: result.map_or_else(|e| describe(&e), |_| "ok".into()), attempts, created: created_seen }
        }
        Call::Revoke => {
            let token = common::connect(&h, "matrix", &email, Environment::Production).await;
            h.sim.clear_requests();
            h.sim.inject(Route::Revoke, fault.clone(), times);
            let result = h.zoho.disconnect(&token.key).await;
            h.sim.clear_faults();
            settle(&fault).await;
            let attempts = h.sim.count(Route::Revoke);
            assert!(attempts <= max, "revoke: {attempts} attempts > {max}");
            let stored = store.get(&token.key).await.unwrap();
            let rt = token.refresh_token.clone().unwrap();
            match &result {
                Ok(()) => {
                    assert!(stored.is_none(), "a disconnected connection is deleted");
                    assert!(!h.sim.revoke_refresh_token_out_of_band(&rt), "and revoked at Zoho");
                }
                Err(_) => {
                    let stored = stored.expect("a failed revoke deletes nothing");
                    assert!(
                        same(&stored.refresh_token, &token.refresh_token, zohocrm::RefreshToken::expose),
                        "refresh token intact"
                    );
                    // The revoke can be repeated once the faults are gone.
                    h.zoho.disconnect(&token.key).await.unwrap();
                }
            }
            Observed { outcome: result.map_or_else(|e| describe(&e), |_| "ok".into()), attempts, created: None }
        }
    }
}

/// The expected outcome of every cell: (fault row, times) → per call `outcome [attempts]`
/// (and `+records` for the insert).
///
/// How to read it: the code exchange is never repeated (codes are single-use), whatever the
/// fault. Refresh, read and revoke absorb one fault of any transient kind (429, 5xx, timeout,
/// reset, truncated body) and give the typed error after 3 attempts; a `Retry-After` above
/// the policy's 20 s goes straight to the caller. The insert is repeated only on 429 (Zoho did
/// not perform it); after a 5xx, a timeout, a reset or a broken body it is not, and the error
/// says it may have been sent — the latency row shows why: the timed-out insert landed, once.
/// A token-endpoint 429 during a refresh backs the connection off for what `Retry-After`
/// says (60 s without one), kept between the failure memory (5 s: `Retry-After: 1` backs off
/// 5 s) and the throttle back-off (10 minutes); only Zoho's own throttle answer (HTTP 400 "too many requests")
/// means its 10-minute window. An HTML page with HTTP 200 is
/// a decode error, not retried.
fn expected() -> BTreeMap<(&'static str, usize, Call), &'static str> {
    let mut m = BTreeMap::new();
    #[rustfmt::skip]
    let table: &[(&str, usize, [&str; 5])] = &[
        ("429 Retry-After: 1", 1, [
            "RateLimited(TokenEndpoint 1s) r=1 s=0 [1]",
            "ok [2]",
            "ok [2]",
            "ok [2] +1",
            "ok [2]",
        ]),
        ("429 Retry-After: 1", MANY, [
            "RateLimited(TokenEndpoint 1s) r=1 s=0 [1]",
            "RateLimited(TokenEndpoint 5s) r=1 s=0 [3]",
            "RateLimited(Api 1s) r=1 s=0 [3]",
            "RateLimited(Api 1s) r=1 s=0 [3] +0",
            "RateLimited(TokenEndpoint 1s) r=1 s=0 [3]",
        ]),
        ("429 Retry-After: 60", 1, [
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
            "RateLimited(Api 60s) r=1 s=0 [1]",
            "RateLimited(Api 60s) r=1 s=0 [1] +0",
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
        ]),
        ("429 Retry-After: 60", MANY, [
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
            "RateLimited(Api 60s) r=1 s=0 [1]",
            "RateLimited(Api 60s) r=1 s=0 [1] +0",
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
        ]),
        ("429 no Retry-After", 1, [
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
            "ok [2]",
            "ok [2]",
            "ok [2] +1",
            "ok [2]",
        ]),
        ("429 no Retry-After", MANY, [
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [1]",
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [3]",
            "RateLimited(Api 60s) r=1 s=0 [3]",
            "RateLimited(Api 60s) r=1 s=0 [3] +0",
            "RateLimited(TokenEndpoint 60s) r=1 s=0 [3]",
        ]),
        ("500 INTERNAL_ERROR", 1, [
            "Decode(500) r=1 s=0 [1]",
            "ok [2]",
            "ok [2]",
            "Api(500 INTERNAL_ERROR) r=1 s=1 [1] +0",
            "ok [2]",
        ]),
        ("500 INTERNAL_ERROR", MANY, [
            "Decode(500) r=1 s=0 [1]",
            "Decode(500) r=1 s=0 [3]",
            "Api(500 INTERNAL_ERROR) r=1 s=1 [3]",
            "Api(500 INTERNAL_ERROR) r=1 s=1 [1] +0",
            "Decode(500) r=1 s=1 [3]",
        ]),
        ("502 HTML", 1, [
            "Decode(502) r=1 s=0 [1]",
            "ok [2]",
            "ok [2]",
            "Decode(502) r=1 s=1 [1] +0",
            "ok [2]",
        ]),
        ("502 HTML", MANY, [
            "Decode(502) r=1 s=0 [1]",
            "Decode(502) r=1 s=0 [3]",
            "Decode(502) r=1 s=1 [3]",
            "Decode(502) r=1 s=1 [1] +0",
            "Decode(502) r=1 s=1 [3]",
        ]),
        ("503 HTML", 1, [
            "Decode(503) r=1 s=0 [1]",
            "ok [2]",
            "ok [2]",
            "Decode(503) r=1 s=1 [1] +0",
            "ok [2]",
        ]),
        ("503 HTML", MANY, [
            "Decode(503) r=1 s=0 [1]",
            "Decode(503) r=1 s=0 [3]",
            "Decode(503) r=1 s=1 [3]",
            "Decode(503) r=1 s=1 [1] +0",
            "Decode(503) r=1 s=1 [3]",
        ]),
        ("latency > read timeout", 1, [
            "Transport(Timeout) r=1 s=1 [1]",
            "ok [2]",
            "ok [2]",
            "Transport(Timeout) r=1 s=1 [1] +1",
            "ok [2]",
        ]),
        ("latency > read timeout", MANY, [
            "Transport(Timeout) r=1 s=1 [1]",
            "Transport(Timeout) r=1 s=0 [3]",
            "Transport(Timeout) r=1 s=1 [3]",
            "Transport(Timeout) r=1 s=1 [1] +1",
            "Transport(Timeout) r=1 s=1 [3]",
        ]),
        ("dropped connection", 1, [
            "Transport(Other) r=1 s=1 [1]",
            "ok [2]",
            "ok [2]",
            "Transport(Other) r=1 s=1 [1] +0",
            "ok [2]",
        ]),
        ("dropped connection", MANY, [
            "Transport(Other) r=1 s=1 [1]",
            "Transport(Other) r=1 s=0 [3]",
            "Transport(Other) r=1 s=1 [3]",
            "Transport(Other) r=1 s=1 [1] +0",
            "Transport(Other) r=1 s=1 [3]",
        ]),
        ("truncated body", 1, [
            "Transport(Other) r=1 s=1 [1]",
            "ok [2]",
            "ok [2]",
            "Transport(Other) r=1 s=1 [1] +0",
            "ok [2]",
        ]),
        ("truncated body", MANY, [
            "Transport(Other) r=1 s=1 [1]",
            "Transport(Other) r=1 s=0 [3]",
            "Transport(Other) r=1 s=1 [3]",
            "Transport(Other) r=1 s=1 [1] +0",
            "Transport(Other) r=1 s=1 [3]",
        ]),
        ("non-JSON body", 1, [
            "Decode(200) r=0 s=0 [1]",
            "Decode(200) r=0 s=0 [1]",
            "Decode(200) r=0 s=1 [1]",
            "Decode(200) r=0 s=1 [1] +0",
            "Decode(200) r=0 s=1 [1]",
        ]),
        ("non-JSON body", MANY, [
            "Decode(200) r=0 s=0 [1]",
            "Decode(200) r=0 s=0 [1]",
            "Decode(200) r=0 s=1 [1]",
            "Decode(200) r=0 s=1 [1] +0",
            "Decode(200) r=0 s=1 [1]",
        ]),
    ];
    for (fault, times, cells) in table {
        for (call, cell) in CALLS.iter().zip(cells) {
            m.insert((*fault, *times, *call), *cell);
        }
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_times_every_call() {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(6));
    let mut tasks = tokio::task::JoinSet::new();
    for (row, fault) in faults() {
        for times in [1, MANY] {
            for call in CALLS {
                let (fault, semaphore) = (fault.clone(), semaphore.clone());
                let marker =
                    format!("Matrix{}x{}x{:?}", row.replace(|c: char| !c.is_ascii_alphanumeric(), ""), times, call);
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await.unwrap();
                    ((row, times, call), cell(call, fault, times, marker).await)
                });
            }
        }
    }
    let mut seen = BTreeMap::new();
    let mut panics = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((k, o)) => {
                seen.insert(k, o);
            }
            Err(e) => panics.push(format!("{e}")),
        }
    }
    // Print the matrix: one line per fault × times, one column per call.
    let expected = expected();
    let mut out = format!("{:<26}", "fault × requests faulted");
    for call in CALLS {
        out.push_str(&format!(" | {:<36}", format!("{call:?}")));
    }
    out.push('\n');
    let mut mismatches = Vec::new();
    for (row, _) in faults() {
        for times in [1, MANY] {
            out.push_str(&format!("{:<26}", format!("{row} ×{times}")));
            for call in CALLS {
                let Some(o) = seen.get(&(row, times, call)) else {
                    out.push_str(&format!(" | {:<36}", "PANIC"));
                    continue;
                };
                let cell = match o.created {
                    Some(n) => format!("{} [{}] +{n}", o.outcome, o.attempts),
                    None => format!("{} [{}]", o.outcome, o.attempts),
                };
                out.push_str(&format!(" | {cell:<36}"));
                match expected.get(&(row, times, call)) {
                    Some(want) if *want == cell => {}
                    want => mismatches.push(format!("{row} ×{times} {call:?}: got {cell}, expected {want:?}")),
                }
            }
            out.push('\n');
        }
    }
    println!("fault matrix: {} cells (outcome r=is_retryable s=may_have_been_sent [attempts seen])\n{out}", seen.len());
    assert!(panics.is_empty(), "cells panicked:\n{}", panics.join("\n"));
    assert!(mismatches.is_empty(), "cells differ from the expected table:\n{}", mismatches.join("\n"));
}
