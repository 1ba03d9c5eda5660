//! Shared set-up for the benches that run against the simulator.
#![allow(dead_code, reason = "shared by several test crates; each uses a part of it")]

use std::sync::Arc;

use zohocrm::dc::{DataCenter, EndpointTable, Endpoints, Environment};
use zohocrm::store::{MemoryStore, TokenStore};
use zohocrm::testkit::{self, SimConfig, Simulator};
use zohocrm::{ClientCredentials, TokenKey, Zoho};

/// Scopes that cover every call the benches make.
pub const SCOPES: &[&str] = &["ZohoCRM.users.ALL", "ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.org.ALL"];

/// True for `cargo bench -- --test` and for `cargo test --benches` (no `--bench` argument):
/// the CI smoke run, every part once, reduced.
pub fn smoke() -> bool {
    std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench")
}

/// A two-worker runtime (this machine has two cores).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// The simulator's endpoint table as the SDK's `Endpoints`.
pub fn endpoints(sim: &Simulator) -> Endpoints {
    let table: EndpointTable =
        serde_json::from_value(serde_json::to_value(sim.endpoints()).expect("table")).expect("table");
    Endpoints::from_table(&table).expect("endpoints")
}

/// The simulator's default client with its per-DC secrets.
pub fn credentials() -> ClientCredentials {
    DataCenter::ALL.iter().fold(
        ClientCredentials::new(testkit::DEFAULT_CLIENT_ID, testkit::default_client_secret(DataCenter::Us)),
        |c, dc| c.with_dc_secret(*dc, testkit::default_client_secret(*dc)),
    )
}

/// A simulator, an SDK entry point over `store` wired to it, and one connected US user.
pub struct Setup {
    /// The simulator.
    pub sim: Simulator,
    /// The SDK.
    pub zoho: Zoho,
    /// The connected user.
    pub key: TokenKey,
    /// The seeded US user's email.
    pub email: String,
}

/// Starts a simulator with `config` and connects its US user as `user` into `store`.
pub async fn setup(config: SimConfig, store: Arc<dyn TokenStore>, user: &str) -> Setup {
    connect(Simulator::start_with(config).await.expect("simulator"), store, user).await
}

/// An SDK entry point over `store` wired to `sim` (which may run on another runtime), with
/// its US user connected as `user`.
pub async fn connect(sim: Simulator, store: Arc<dyn TokenStore>, user: &str) -> Setup {
    let zoho = Zoho::builder(credentials())
        .endpoints(endpoints(&sim))
        .clock(sim.clock())
        .shared_store(store)
        .build()
        .expect("zoho");
    let email = sim.users().into_iter().find(|u| u.dc == DataCenter::Us).map(|u| u.email).expect("US user");
    let issued = sim.issue_tokens(&email, Environment::Production, SCOPES).expect("tokens");
    let token = zoho
        .connect_with_refresh_token(user, DataCenter::Us, Environment::Production, issued.refresh_token)
        .await
        .expect("connect");
    Setup { sim, zoho, key: token.key, email }
}

/// [`setup`] with a memory store.
pub async fn setup_memory(config: SimConfig) -> Setup {
    setup(config, Arc::new(MemoryStore::new()), "bench").await
}

/// Peak resident set size of this process so far (VmHWM), in bytes.
pub fn peak_rss_bytes() -> u64 {
    proc_status_kb("VmHWM:") * 1024
}

/// Resident set size now (VmRSS), in bytes.
pub fn rss_bytes() -> u64 {
    proc_status_kb("VmRSS:") * 1024
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// On-CPU time so far of each thread of process `pid` (`"self"` for this one): its name and
/// ns, kernel time included (`/proc/<pid>/task/*/schedstat`).
pub fn threads_cpu_ns(pid: &str) -> Vec<(String, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .filter_map(Result::ok)
        .map(|task| {
            let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim().to_owned();
            let on_cpu = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
                .unwrap_or(0);
            (name, on_cpu)
        })
        .collect()
}

/// On-CPU time so far of every thread of process `pid` together, in ns.
pub fn process_cpu_ns(pid: &str) -> u64 {
    threads_cpu_ns(pid).iter().map(|(_, ns)| ns).sum()
}

/// Resets the peak RSS counter (VmHWM) to the current RSS, where the kernel allows it.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The `p`-quantile of sorted values.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}
