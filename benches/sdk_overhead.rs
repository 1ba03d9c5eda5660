//! What the SDK costs over raw HTTP: `CurrentUser` and a 200-record page through the SDK against
//! hand-written `reqwest` + `serde_json` making the same calls — same token, same simulator, same
//! connection-pool settings — sequentially and with 32 concurrent tasks, interleaved in the same
//! run (the simulator's answer time dominates and drifts; interleaving cancels the drift).
//! Every comparison has a third side, the control: a second raw client (its own connection
//! pool) measured exactly like the first, so each run also prints an A/A ratio — how far the
//! machine's noise alone moves a ratio in that run.
//! Sequentially, the three sides take turns call by call (in six orders) and every call is
//! timed, so the ratio of the median calls is not moved by bursts of machine noise; with 32
//! tasks, whole batches take turns (throughput). Last, the on-CPU time per call of the
//! clients' threads and, apart, of the simulator's (`zoho-sim`) threads.
//! Then, with criterion, the decode of the same 200-record body alone, SDK type against a plain
//! `serde_json` map.
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

async fn raw_call(raw: &Raw, call: Call) -> usize {
    match call {
        Call::CurrentUser => raw.current_user().await,
        Call::Page => raw.page().await,
    }
}

/// Who makes a call: the SDK, the raw client, or the control — a second raw client with a
/// connection pool of its own, measured exactly like the other two. The control's ratio to
/// the raw client (an A/A comparison: the same code on both sides) is how far this machine's
/// noise alone moves a ratio in that run; an SDK ratio inside that spread is not a cost.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Sdk,
    Raw,
    Control,
}

impl Side {
    /// The three sides in the `round`-th of their six orders (cycling): over six rounds each
    /// side goes first, second and third twice and follows each other side equally often, so
    /// no side always runs right after the same one (which moved an A/A ratio by 10 % here).
    fn order(round: usize) -> [Side; 3] {
        use Side::{Control as C, Raw as R, Sdk as S};
        [[S, R, C], [S, C, R], [R, S, C], [R, C, S], [C, S, R], [C, R, S]][round % 6]
    }
}

/// The clients of the three sides.
#[derive(Clone)]
struct Sides {
    sdk: CrmClient,
    raw: Raw,
    control: Raw,
}

impl Sides {
    async fn call(&self, side: Side, call: Call) -> usize {
        match side {
            Side::Sdk => sdk_call(&self.sdk, call).await,
            Side::Raw => raw_call(&self.raw, call).await,
            Side::Control => raw_call(&self.control, call).await,
        }
    }
}

/// Per-side measurements, indexed by `Side as usize`.
type PerSide<T> = [T; 3];

/// Time of `calls` calls per task over `tasks` tasks of `side` (wall time / total calls).
async fn batch(sides: &Sides, side: Side, call: Call, tasks: usize, calls: usize) -> f64 {
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let sides = sides.clone();
        set.spawn(async move {
            for _ in 0..calls {
                black_box(sides.call(side, call).await);
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("task");
    }
    start.elapsed().as_nanos() as f64 / (tasks * calls) as f64
}

/// One task making `rounds` rounds of one call per side back to back, each call timed, in
/// [`Side::order`]. Returns each side's call times (ns).
async fn in_turns(sides: &Sides, call: Call, rounds: usize) -> PerSide<Vec<f64>> {
    let sides = sides.clone();
    let task = tokio::spawn(async move {
        let mut ns: PerSide<Vec<f64>> = std::array::from_fn(|_| Vec::with_capacity(rounds));
        for round in 0..rounds {
            for side in Side::order(round) {
                let start = Instant::now();
                let n = sides.call(side, call).await;
                ns[side as usize].push(start.elapsed().as_nanos() as f64);
                black_box(n);
            }
        }
        ns
    });
    task.await.expect("task")
}

/// The sequential comparison: every call is followed by the other sides' next calls, so a
/// burst of machine noise (this is a 2-vCPU VM) hits every side alike. Reports the total ratio
/// (sum of SDK call times / sum of raw call times), the ratio of the median calls and the
/// control's same two ratios.
fn sequential(rt: &tokio::runtime::Runtime, sides: &Sides, call: Call, rounds: usize, calls: usize) -> String {
    rt.block_on(in_turns(sides, call, calls.min(20)));
    let mut ns: PerSide<Vec<f64>> = Default::default();
    for _ in 0..rounds {
        for (all, some) in ns.iter_mut().zip(rt.block_on(in_turns(sides, call, calls))) {
            all.extend(some);
        }
    }
    for side in &mut ns {
        side.sort_by(f64::total_cmp);
    }
    let [sdk, raw, control] = &ns;
    let q = |v: &[f64], p| support::quantile(v, p);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64 / 1e3;
    let (sdk_mean, raw_mean) = (mean(sdk), mean(raw));
    // Over the raw client: the ratio of the totals and of the median calls.
    let ratios = |v: &[f64]| (v.iter().sum::<f64>() / raw.iter().sum::<f64>(), q(v, 0.5) / q(raw, 0.5));
    let ((total, median), (control_total, control_median)) = (ratios(sdk), ratios(control));
    format!(
        "overhead: {call:?}, 1 task(s), {rounds} rounds x {calls} calls a side: sdk {sdk_mean:.1} µs/call, raw {raw_mean:.1} µs/call, \
         ratio {total:.3} (total), {median:.3} (median call: sdk {:.1} µs, raw {:.1} µs; p25 {:.3}, p75 {:.3}); \
         control (raw again, A/A) {control_total:.3} (total), {control_median:.3} (median call)",
        q(sdk, 0.5) / 1e3,
        q(raw, 0.5) / 1e3,
        q(sdk, 0.25) / q(raw, 0.25),
        q(sdk, 0.75) / q(raw, 0.75),
    )
}

/// The concurrent comparison: throughput of whole batches of `tasks` tasks, one side per batch,
/// in [`Side::order`] from round to round (a task's call time here includes waiting behind
/// the other tasks, so calls are not paired).
fn concurrent(
    rt: &tokio::runtime::Runtime,
    sides: &Sides,
    call: Call,
    tasks: usize,
    rounds: usize,
    calls: usize,
) -> String {
    rt.block_on(async {
        for side in Side::order(0) {
            batch(sides, side, call, tasks, 1).await;
        }
    });
    let mut ns: PerSide<Vec<f64>> = Default::default();
    for round in 0..rounds {
        rt.block_on(async {
            for side in Side::order(round) {
                ns[side as usize].push(batch(sides, side, call, tasks, calls).await);
            }
        });
    }
    let [sdk, raw, control] = &ns;
    let total = |v: &[f64]| v.iter().sum::<f64>();
    let per_round = |a: &[f64]| {
        let mut r: Vec<f64> = a.iter().zip(raw).map(|(a, r)| a / r).collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let (sdk_rounds, control_rounds) = (per_round(sdk), per_round(control));
    let q = |v: &[f64], p| support::quantile(v, p);
    format!(
        "overhead: {call:?}, {tasks} task(s), {rounds} rounds x {} calls a side: sdk {:.1} µs/call, raw {:.1} µs/call, \
         ratio {:.3} (total), {:.3} (median of rounds, IQR {:.3}–{:.3}); control (raw again, A/A) {:.3} (total), \
         {:.3} (median of rounds, IQR {:.3}–{:.3})",
        calls * tasks,
        total(sdk) / sdk.len() as f64 / 1e3,
        total(raw) / raw.len() as f64 / 1e3,
        total(sdk) / total(raw),
        q(&sdk_rounds, 0.5),
        q(&sdk_rounds, 0.25),
        q(&sdk_rounds, 0.75),
        total(control) / total(raw),
        q(&control_rounds, 0.5),
        q(&control_rounds, 0.25),
        q(&control_rounds, 0.75),
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

/// Client CPU per sequential call: batches of `calls` calls of one side, in [`Side::order`],
/// on-CPU time of the clients' threads (the simulator runs on its own). Wall time hides part of
/// the client's work behind the server's; this is all of it, kernel included.
fn client_cpu(rt: &tokio::runtime::Runtime, sides: &Sides, call: Call, batches: usize, calls: usize) -> String {
    let (mut client, mut sim): (PerSide<u64>, PerSide<u64>) = Default::default();
    for round in 0..batches {
        for side in Side::order(round) {
            let sides = sides.clone();
            let before = cpu_ns();
            rt.block_on(async move {
                tokio::spawn(async move {
                    for _ in 0..calls {
                        black_box(sides.call(side, call).await);
                    }
                })
                .await
                .expect("task")
            });
            let after = cpu_ns();
            client[side as usize] += after.0.saturating_sub(before.0);
            sim[side as usize] += after.1.saturating_sub(before.1);
        }
    }
    let per_call = |ns: u64| ns as f64 / (batches * calls) as f64 / 1e3;
    let ratio = |a: u64| a as f64 / client[Side::Raw as usize].max(1) as f64;
    format!(
        "overhead: {call:?}, client CPU per call ({batches} x {calls} calls per side, on-CPU time of the clients' threads): \
         sdk {:.1} µs, raw {:.1} µs, ratio {:.3}, control (raw again, A/A) {:.1} µs, ratio {:.3}; \
         the simulator's CPU for the same calls: sdk {:.1} µs, raw {:.1} µs, control {:.1} µs",
        per_call(client[Side::Sdk as usize]),
        per_call(client[Side::Raw as usize]),
        ratio(client[Side::Sdk as usize]),
        per_call(client[Side::Control as usize]),
        ratio(client[Side::Control as usize]),
        per_call(sim[Side::Sdk as usize]),
        per_call(sim[Side::Raw as usize]),
        per_call(sim[Side::Control as usize]),
    )
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

fn interleaved(rt: &tokio::runtime::Runtime, sides: &Sides, smoke: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for (call, tasks) in [(Call::CurrentUser, 1), (Call::CurrentUser, 32), (Call::Page, 1), (Call::Page, 32)] {
        if !wanted(&case(call, &tasks.to_string())) {
            continue;
        }
        let (rounds, calls) = match (smoke, call, tasks) {
            (true, _, _) => (2, 2),
            // Multiples of six: whole cycles of `Side::order`.
            (false, Call::CurrentUser, 1) => (60, 96),
            (false, Call::CurrentUser, _) => (60, 10),
            (false, Call::Page, 1) => (60, 18),
            (false, Call::Page, _) => (42, 2),
        };
        lines.push(if tasks == 1 {
            sequential(rt, sides, call, rounds, calls)
        } else {
            concurrent(rt, sides, call, tasks, rounds, calls)
        });
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
    // The raw clients are built like the SDK's (same builder, pool and timeouts as Zoho's
    // defaults), each with a connection pool of its own.
    let raw_client = || Raw {
        http: zohocrm::transport::http_client_builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(60))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("zohocrm-rust/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .build()
            .expect("http"),
        base: s.sim.api_url(DataCenter::Us, Environment::Production),
        auth: format!("Zoho-oauthtoken {}", token.secret().expose()),
    };
    let raw = raw_client();
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
    let sides = Sides { sdk: crm, raw: raw.clone(), control: raw_client() };
    let mut lines = interleaved(&rt, &sides, smoke);
    if !shared {
        for (call, batches, calls) in [(Call::CurrentUser, 6, 1500), (Call::Page, 6, 18)] {
            if !wanted(&case(call, "cpu")) {
                continue;
            }
            let (batches, calls) = if smoke { (1, 2) } else { (batches, calls) };
            lines.push(client_cpu(&rt, &sides, call, batches, calls));
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
