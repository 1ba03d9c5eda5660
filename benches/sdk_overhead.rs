//! What the SDK costs over raw HTTP: `CurrentUser` and a 200-record page through the SDK against
//! hand-written `reqwest` + `serde_json` making the same calls — same token, same simulator, same
//! connection-pool settings — sequentially and with 32 concurrent tasks, interleaved in the same
//! run (the simulator's answer time dominates and drifts; interleaving cancels the drift).
//! Sequentially, each SDK call is paired with a raw call (who goes first alternates) and every
//! call is timed, so the ratio of the median calls is not moved by bursts of machine noise;
//! with 32 tasks, whole batches alternate (throughput). Last, the on-CPU time per call of the
//! clients' threads and, apart, of the simulator's (`zoho-sim`) threads.
//! Then, with criterion, the decode of the same 200-record body alone, SDK type against a plain
//! `serde_json` map, which is where the SDK's extra cost on the page lives.
//!
//! `cargo bench --bench sdk_overhead --features testkit` — read the ratios.
//! `cargo bench --bench sdk_overhead --features testkit -- --test` — CI smoke.
//! `ZOHOCRM_OVERHEAD_ONLY=page-1,page-32 cargo bench --bench sdk_overhead --features testkit` —
//! only those cases (`user-1`, `user-32`, `page-1`, `page-32`, `user-cpu`, `page-cpu`, `decode`).
//! `CARGO_PROFILE_BENCH_LTO=fat CARGO_PROFILE_BENCH_CODEGEN_UNITS=1 cargo bench --bench
//! sdk_overhead --features testkit` — the same with link-time optimization, as an application's
//! release profile may build it (the SDK's layers inline into one another and into `reqwest`).

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use std::sync::Arc;
use zohocrm::client::{RecordQuery, UserType};

use zohocrm::store::MemoryStore;
use zohocrm::testkit::{SimConfig, Simulator};
use zohocrm::{CrmClient, DataCenter, Environment};

/// The raw side: what a hand-written client does for the same calls, with the same request
/// headers as the SDK's (user agent, accept, authorization), in the SDK's order, and the query
/// parameters in the SDK's order too: the simulator sees the same bytes from both sides.
#[derive(Clone)]
struct Raw {
    http: reqwest::Client,
    base: String,
    auth: String,
}

#[derive(serde::Deserialize)]
struct RawPage {
    #[serde(default)]
    data: Vec<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    info: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct RawUsers {
    #[serde(default)]
    users: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl Raw {
    async fn current_user(&self) -> usize {
        let response = self
            .http
            .get(format!("{}/crm/v2/users", self.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(&[("page", "1"), ("per_page", "1"), ("type", "CurrentUser")])
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .send()
            .await
            .expect("send");
        assert!(response.status().is_success());
        let body = response.bytes().await.expect("body");
        serde_json::from_slice::<RawUsers>(&body).expect("users").users.len()
    }

    async fn page(&self) -> usize {
        let response = self
            .http
            .get(format!("{}/crm/v2/Leads", self.base))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(&[("page", "1"), ("per_page", "200")])
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .send()
            .await
            .expect("send");
        assert!(response.status().is_success());
        let body = response.bytes().await.expect("body");
        let page: RawPage = serde_json::from_slice(&body).expect("page");
        black_box(page.info);
        page.data.len()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    CurrentUser,
    Page,
}

async fn sdk_call(crm: &CrmClient, call: Call) -> usize {
    match call {
        Call::CurrentUser => crm.users_page(UserType::CurrentUser, 1, 1).await.expect("user").items.len(),
        Call::Page => crm.records_page("Leads", &RecordQuery::default(), 1).await.expect("page").items.len(),
    }
}

/// Time of `calls` calls per task over `tasks` tasks (wall time / total calls).
async fn batch(sdk: Option<&CrmClient>, raw: &Raw, call: Call, tasks: usize, calls: usize) -> f64 {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let (sdk, raw) = (sdk.cloned(), raw.clone());
        set.spawn(async move {
            for _ in 0..calls {
                let n = match &sdk {
                    Some(crm) => sdk_call(crm, call).await,
                    None => raw_call(&raw, call).await,
                };
                black_box(n);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("task");
    }
    start.elapsed().as_nanos() as f64 / (tasks * calls) as f64
}

/// One task making `pairs` SDK/raw call pairs back to back, each call timed; who goes first
/// alternates from pair to pair. Returns the SDK's and the raw client's call times (ns).
async fn paired(sdk: &CrmClient, raw: &Raw, call: Call, pairs: usize) -> (Vec<f64>, Vec<f64>) {
    let (sdk, raw) = (sdk.clone(), raw.clone());
    let task = tokio::spawn(async move {
        let (mut sdk_ns, mut raw_ns) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
        for pair in 0..pairs {
            for side in [pair % 2 == 0, pair % 2 == 1] {
                let start = Instant::now();
                let n = if side { sdk_call(&sdk, call).await } else { raw_call(&raw, call).await };
                let ns = start.elapsed().as_nanos() as f64;
                black_box(n);
                if side { sdk_ns.push(ns) } else { raw_ns.push(ns) }
            }
        }
        (sdk_ns, raw_ns)
    });
    task.await.expect("task")
}

/// The sequential comparison: every call paired with the other side's next call, so a burst of
/// machine noise (this is a shared 2-vCPU VM) hits both sides alike. Reports the total ratio
/// (sum of SDK call times / sum of raw call times) and the ratio of the median calls.
fn sequential(
    rt: &tokio::runtime::Runtime,
    crm: &CrmClient,
    raw: &Raw,
    call: Call,
    rounds: usize,
    pairs: usize,
) -> String {
    rt.block_on(paired(crm, raw, call, pairs.min(20)));
    let (mut sdk_ns, mut raw_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (s, r) = rt.block_on(paired(crm, raw, call, pairs));
        sdk_ns.extend(s);
        raw_ns.extend(r);
    }
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let ratio_total = total(&sdk_ns) / total(&raw_ns);
    sdk_ns.sort_by(f64::total_cmp);
    raw_ns.sort_by(f64::total_cmp);
    let q = |v: &[f64], p| support::quantile(v, p);
    format!(
        "overhead: {call:?}, 1 task(s), {rounds} rounds x {pairs} call pairs: sdk {:.1} µs/call, raw {:.1} µs/call, \
         ratio {ratio_total:.3} (total), {:.3} (median call: sdk {:.1} µs, raw {:.1} µs; p25 {:.3}, p75 {:.3})",
        total(&sdk_ns) / sdk_ns.len() as f64 / 1e3,
        total(&raw_ns) / raw_ns.len() as f64 / 1e3,
        q(&sdk_ns, 0.5) / q(&raw_ns, 0.5),
        q(&sdk_ns, 0.5) / 1e3,
        q(&raw_ns, 0.5) / 1e3,
        q(&sdk_ns, 0.25) / q(&raw_ns, 0.25),
        q(&sdk_ns, 0.75) / q(&raw_ns, 0.75),
    )
}

/// The name of the simulator runtime's threads (to tell its CPU time from the clients').
const SIM_THREAD: &str = "zoho-sim";

/// On-CPU time so far (ns) of this process's threads, (clients, simulator), from
/// `/proc/self/task/*/schedstat` (Linux; 0 elsewhere).
fn cpu_ns() -> (u64, u64) {
    let (mut client, mut sim) = (0, 0);
    for (name, on_cpu) in support::threads_cpu_ns("self") {
        if name == SIM_THREAD { sim += on_cpu } else { client += on_cpu }
    }
    (client, sim)
}

/// Client CPU per sequential call, SDK against raw: batches of `calls` calls of one side,
/// alternating, on-CPU time of the clients' threads (the simulator runs on its own). Wall time
/// hides part of the client's work behind the server's; this is all of it, kernel included.
fn client_cpu(
    rt: &tokio::runtime::Runtime,
    crm: &CrmClient,
    raw: &Raw,
    call: Call,
    batches: usize,
    calls: usize,
) -> String {
    let (mut sdk_ns, mut raw_ns, mut sdk_sim_ns, mut raw_sim_ns) = (0u64, 0u64, 0u64, 0u64);
    for batch in 0..batches * 2 {
        let sdk_side = batch % 2 == 0;
        let (crm, raw) = (crm.clone(), raw.clone());
        let before = cpu_ns();
        rt.block_on(async move {
            tokio::spawn(async move {
                for _ in 0..calls {
                    let n = if sdk_side { sdk_call(&crm, call).await } else { raw_call(&raw, call).await };
                    black_box(n);
                }
            })
            .await
            .expect("task")
        });
        let after = cpu_ns();
        let (used, sim_used) = (after.0.saturating_sub(before.0), after.1.saturating_sub(before.1));
        if sdk_side {
            sdk_ns += used;
            sdk_sim_ns += sim_used;
        } else {
            raw_ns += used;
            raw_sim_ns += sim_used;
        }
    }
    let per_call = |ns: u64| ns as f64 / (batches * calls) as f64 / 1e3;
    format!(
        "overhead: {call:?}, client CPU per call ({batches} x {calls} calls per side, on-CPU time of the clients' threads): \
         sdk {:.1} µs, raw {:.1} µs, ratio {:.3}; the simulator's CPU for the same calls: sdk {:.1} µs, raw {:.1} µs",
        per_call(sdk_ns),
        per_call(raw_ns),
        sdk_ns as f64 / raw_ns.max(1) as f64,
        per_call(sdk_sim_ns),
        per_call(raw_sim_ns),
    )
}

async fn raw_call(raw: &Raw, call: Call) -> usize {
    match call {
        Call::CurrentUser => raw.current_user().await,
        Call::Page => raw.page().await,
    }
}

/// Whether `case` (`user-1`, `user-32`, `page-1`, `page-32`, `user-cpu`, `page-cpu`,
/// `decode`) is to run: all of them unless `ZOHOCRM_OVERHEAD_ONLY` names some, comma-separated
/// (to repeat one case quickly while looking into it).
fn wanted(case: &str) -> bool {
    std::env::var("ZOHOCRM_OVERHEAD_ONLY").map_or(true, |only| only.split(',').any(|c| c.trim() == case))
}

/// The case name of `call` for [`wanted`].
fn case(call: Call, what: &str) -> String {
    format!("{}-{what}", if call == Call::Page { "page" } else { "user" })
}

fn interleaved(rt: &tokio::runtime::Runtime, crm: &CrmClient, raw: &Raw, smoke: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for (call, tasks) in [(Call::CurrentUser, 1), (Call::CurrentUser, 32), (Call::Page, 1), (Call::Page, 32)] {
        if !wanted(&case(call, &tasks.to_string())) {
            continue;
        }
        let (rounds, calls) = match (smoke, call, tasks) {
            (true, _, _) => (2, 2),
            (false, Call::CurrentUser, 1) => (60, 100),
            (false, Call::CurrentUser, _) => (60, 10),
            (false, Call::Page, 1) => (60, 20),
            (false, Call::Page, _) => (40, 2),
        };
        if tasks == 1 {
            lines.push(sequential(rt, crm, raw, call, rounds, calls));
            continue;
        }
        // Concurrent: throughput of whole batches, interleaved batch by batch (a task's call
        // time here includes waiting behind the other tasks, so calls are not paired).
        rt.block_on(async {
            batch(Some(crm), raw, call, tasks, 1).await;
            batch(None, raw, call, tasks, 1).await;
        });
        let (mut sdk_ns, mut raw_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (s, r) = rt.block_on(async {
                // Alternate who goes first, so neither always follows the other.
                if round % 2 == 0 {
                    let s = batch(Some(crm), raw, call, tasks, calls).await;
                    (s, batch(None, raw, call, tasks, calls).await)
                } else {
                    let r = batch(None, raw, call, tasks, calls).await;
                    (batch(Some(crm), raw, call, tasks, calls).await, r)
                }
            });
            sdk_ns.push(s);
            raw_ns.push(r);
            ratios.push(s / r);
        }
        let total = |v: &[f64]| v.iter().sum::<f64>();
        ratios.sort_by(f64::total_cmp);
        lines.push(format!(
            "overhead: {call:?}, {tasks} task(s), {rounds} rounds x {} calls: sdk {:.1} µs/call, raw {:.1} µs/call, \
             ratio {:.3} (total), {:.3} (median of rounds, IQR {:.3}–{:.3})",
            calls * tasks,
            total(&sdk_ns) / sdk_ns.len() as f64 / 1e3,
            total(&raw_ns) / raw_ns.len() as f64 / 1e3,
            total(&sdk_ns) / total(&raw_ns),
            support::quantile(&ratios, 0.5),
            support::quantile(&ratios, 0.25),
            support::quantile(&ratios, 0.75),
        ));
    }
    lines
}

/// The decode of one 200-record page body alone: SDK type vs plain map, same bytes.
fn decode(c: &mut Criterion, body: &[u8]) {
    let mut group = c.benchmark_group("decode_200_record_page");
    group.bench_function("raw_serde_json_map", |b| {
        b.iter(|| black_box(serde_json::from_slice::<RawPage>(black_box(body)).expect("page").data.len()))
    });
    group.bench_function("sdk_records_response", |b| {
        b.iter(|| {
            black_box(
                serde_json::from_slice::<zohocrm::crm::types::RecordsResponse>(black_box(body))
                    .expect("page")
                    .data
                    .len(),
            )
        })
    });
    group.finish();
}

/// `ZOHOCRM_OVERHEAD_PROFILE=sdk-page|raw-page|sdk-user|raw-user|sdk-decode|raw-decode`: only
/// that, 100 times (`ZOHOCRM_OVERHEAD_CALLS` to change), for `valgrind --tool=callgrind --toggle-collect=sdk_overhead::profiled`
/// (instruction counts are stable on a noisy machine; the simulator's share is the same on
/// both sides).
#[inline(never)]
fn profiled(rt: &tokio::runtime::Runtime, what: &str, crm: &CrmClient, raw: &Raw, body: &[u8]) {
    let calls = std::env::var("ZOHOCRM_OVERHEAD_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(100);
    for _ in 0..calls {
        match what {
            "sdk-decode" => {
                black_box(serde_json::from_slice::<zohocrm::crm::types::RecordsResponse>(body).expect("page"));
            }
            "raw-decode" => {
                black_box(serde_json::from_slice::<RawPage>(body).expect("page"));
            }
            _ => {
                rt.block_on(async {
                    match what {
                        "sdk-page" => black_box(sdk_call(crm, Call::Page).await),
                        "raw-page" => black_box(raw.page().await),
                        "sdk-user" => black_box(sdk_call(crm, Call::CurrentUser).await),
                        _ => black_box(raw.current_user().await),
                    }
                });
            }
        }
    }
}

fn main() {
    let smoke = support::smoke();
    let rt = support::runtime();
    // Where the simulator runs: by default on a runtime of its own (two worker threads, as the
    // `zoho-sim` binary), like a server in another process, so its tasks do not queue in the
    // clients' scheduler; `ZOHOCRM_OVERHEAD_SIM=shared` runs it on the clients' runtime.
    let shared = std::env::var("ZOHOCRM_OVERHEAD_SIM").is_ok_and(|v| v == "shared");
    let sim_rt = (!shared).then(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(SIM_THREAD)
            .enable_all()
            .build()
            .expect("simulator runtime")
    });
    let sim = sim_rt.as_ref().unwrap_or(&rt).block_on(Simulator::start_with(SimConfig::default())).expect("simulator");
    let s = rt.block_on(support::connect(sim, Arc::new(MemoryStore::new()), "bench"));
    let crm = rt.block_on(s.zoho.client(&s.key)).expect("client");
    let token = rt.block_on(s.zoho.tokens().access_token(&s.key)).expect("token");
    // The raw client is built like the SDK's (same builder, pool and timeouts as Zoho's defaults).
    let http = zohocrm::transport::http_client_builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("zohocrm-rust/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .build()
        .expect("http");
    let raw = Raw {
        http,
        base: s.sim.api_url(DataCenter::Us, Environment::Production),
        auth: format!("Zoho-oauthtoken {}", token.secret().expose()),
    };
    if let Ok(what) = std::env::var("ZOHOCRM_OVERHEAD_PROFILE") {
        let body = rt.block_on(async {
            raw.http
                .get(format!("{}/crm/v2/Leads?page=1&per_page=200", raw.base))
                .header(reqwest::header::AUTHORIZATION, &raw.auth)
                .send()
                .await
                .expect("send")
                .bytes()
                .await
                .expect("body")
        });
        // Warm both sides, then the profiled part.
        rt.block_on(async { (sdk_call(&crm, Call::Page).await, raw.page().await) });
        profiled(&rt, &what, &crm, &raw, &body);
        return;
    }
    let loads = s.zoho.tokens().store_load_count();
    let mut lines = interleaved(&rt, &crm, &raw, smoke);
    if !shared {
        for (call, batches, calls) in [(Call::CurrentUser, 4, 2000), (Call::Page, 4, 25)] {
            if !wanted(&case(call, "cpu")) {
                continue;
            }
            let (batches, calls) = if smoke { (1, 2) } else { (batches, calls) };
            lines.push(client_cpu(&rt, &crm, &raw, call, batches, calls));
        }
    }
    assert_eq!(s.zoho.tokens().refresh_count(), 0, "no refresh during the comparison");
    assert_eq!(s.zoho.tokens().store_load_count(), loads, "no store reads during the comparison");

    let body = rt.block_on(async {
        let response = raw
            .http
            .get(format!("{}/crm/v2/Leads?page=1&per_page=200", raw.base))
            .header(reqwest::header::AUTHORIZATION, &raw.auth)
            .send()
            .await
            .expect("send");
        response.bytes().await.expect("body")
    });
    if wanted("decode") {
        let mut c = Criterion::default().configure_from_args();
        decode(&mut c, &body);
        c.final_summary();
    }
    println!(
        "overhead: page body {} bytes; simulator on {}",
        body.len(),
        if shared { "the clients' runtime" } else { "its own runtime" }
    );
    for line in lines {
        println!("{line}");
    }
}
