//! Export: stream every Leads record through the v2 listing stream (`CrmClient::records`, 200
//! per page, page numbers) and, with the `v8-core` feature, the v8 one (`CrmV8Client::records`,
//! 200 per page, following `next_page_token`) — records per second and the growth of this
//! process's resident memory while streaming, at 5,000 and 50,000 records (it should stay flat:
//! a stream holds one page at a time). The same pages fetched by hand-written `reqwest` +
//! `serde_json` run in the same process, for the ratio: after a warm-up of two pages each, in
//! the order SDK, raw, raw, SDK, so that neither side gets the first (cold) or the last run.
//!
//! The simulator runs in a child process (this bench binary again, `ZOHOCRM_EXPORT_SIM` set),
//! seeded through `SimConfig::us_leads`, so the memory measured here is the SDK's alone.
//!
//! `cargo bench --bench export --features testkit,v8-core` — prints `export:` lines (v2 and v8;
//! without `v8-core`, v2 only). `... -- --test` — CI smoke (500 and 2,000 records).

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use zohocrm::client::RecordQuery;
use zohocrm::dc::{DataCenter, EndpointTable, Endpoints, Environment};
use zohocrm::testkit::{SimConfig, Simulator};
use zohocrm::{TokenKey, Zoho};

const SIM: &str = "ZOHOCRM_EXPORT_SIM";

/// The child: a simulator with `leads` US leads; prints its endpoints and a refresh token,
/// serves until stdin closes.
fn sim_child(leads: usize) {
    let rt = support::runtime();
    rt.block_on(async {
        let config = SimConfig { us_leads: leads, ..SimConfig::default() };
        let sim = Simulator::start_with(config).await.expect("simulator");
        let email = sim.users().into_iter().find(|u| u.dc == DataCenter::Us).map(|u| u.email).expect("US user");
        let issued = sim.issue_tokens(&email, Environment::Production, support::SCOPES).expect("tokens");
        println!(
            "SIM {} {}",
            serde_json::to_string(&sim.endpoints()).expect("endpoints"),
            issued.refresh_token.expose()
        );
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .expect("stdin");
    });
}

struct SimProcess {
    child: Child,
    table: EndpointTable,
    refresh_token: String,
}

fn spawn_sim(leads: usize) -> SimProcess {
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .env(SIM, leads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn simulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("simulator line");
    let mut parts = line.trim().splitn(3, ' ');
    assert_eq!(parts.next(), Some("SIM"), "simulator said: {line}");
    let table = serde_json::from_str(parts.next().expect("table")).expect("table");
    let refresh_token = parts.next().expect("refresh token").to_owned();
    SimProcess { child, table, refresh_token }
}

/// A listing page as the hand-written client reads it (v2 and v8).
#[derive(serde::Deserialize)]
struct RawPage {
    #[serde(default)]
    data: Vec<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    info: Option<RawInfo>,
}

#[derive(serde::Deserialize)]
struct RawInfo {
    #[serde(default)]
    more_records: bool,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// The fields the v8 listings ask for (v8 requires a list).
#[cfg(feature = "v8-core")]
const V8_FIELDS: [&str; 4] = ["Last_Name", "First_Name", "Email", "Company"];

/// One export: records seen, how long it took, and the growth of resident memory meanwhile.
struct Phase {
    count: usize,
    elapsed: Duration,
    rss_growth: u64,
}

/// Records fetched by each side before the measured runs (two pages).
const WARM_UP: usize = 400;

/// Drains an SDK stream (at most `limit` records), sampling RSS every page.
async fn drain<T, S: Stream<Item = zohocrm::Result<T>> + Unpin>(stream: S, limit: usize) -> Phase {
    let mut stream = stream.take(limit);
    let before = support::rss_bytes();
    let mut peak = before;
    let start = Instant::now();
    let mut count = 0usize;
    while let Some(record) = stream.next().await {
        std::hint::black_box(record.expect("record"));
        count += 1;
        if count.is_multiple_of(200) {
            peak = peak.max(support::rss_bytes());
        }
    }
    Phase { count, elapsed: start.elapsed(), rss_growth: peak.saturating_sub(before) }
}

/// The same listing by hand: `url` with `query`, then page numbers, or `next_page_token`
/// whenever the answer offers one (v8), until `more_records` is false or `limit` records.
async fn by_hand(http: &reqwest::Client, auth: &str, url: &str, query: &[(&str, &str)], limit: usize) -> Phase {
    let before = support::rss_bytes();
    let mut peak = before;
    let start = Instant::now();
    let (mut count, mut page, mut token) = (0usize, 1u32, None::<String>);
    loop {
        let at = match &token {
            Some(t) => ("page_token", t.clone()),
            None => ("page", page.to_string()),
        };
        let response = http
            .get(url)
            .query(query)
            .query(&[at])
            .header(reqwest::header::AUTHORIZATION, auth)
            .send()
            .await
            .expect("send");
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            break;
        }
        assert!(response.status().is_success(), "{url}: {}", response.status());
        let body = response.bytes().await.expect("body");
        let parsed: RawPage = serde_json::from_slice(&body).expect("page");
        for record in parsed.data {
            std::hint::black_box(record);
            count += 1;
        }
        peak = peak.max(support::rss_bytes());
        let Some(info) = parsed.info.filter(|i| i.more_records && count < limit) else {
            break;
        };
        match info.next_page_token {
            Some(next) => token = Some(next),
            None => page += 1,
        }
    }
    Phase { count, elapsed: start.elapsed(), rss_growth: peak.saturating_sub(before) }
}

/// `run`, with the on-CPU time it cost this process and the simulator's (`sim_pid`), in ns.
async fn with_cpu<F: std::future::Future<Output = Phase>>(sim_pid: &str, run: F) -> (Phase, u64, u64) {
    let (client, sim) = (support::process_cpu_ns("self"), support::process_cpu_ns(sim_pid));
    let phase = run.await;
    (
        phase,
        support::process_cpu_ns("self").saturating_sub(client),
        support::process_cpu_ns(sim_pid).saturating_sub(sim),
    )
}

/// Runs `sdk` and `raw` (each a whole export of `n` records) in the order SDK, raw, raw, SDK
/// after a warm-up of each, and formats the result, with the CPU each side cost this process
/// (the client) and the simulator, per page of 200.
async fn compare<S, R, SF, RF>(api: &str, n: usize, sim_pid: &str, sdk: S, raw: R) -> String
where
    S: Fn(usize) -> SF,
    R: Fn(usize) -> RF,
    SF: std::future::Future<Output = Phase>,
    RF: std::future::Future<Output = Phase>,
{
    let (warm_sdk, warm_raw) = (sdk(WARM_UP).await, raw(WARM_UP).await);
    assert_eq!((warm_sdk.count, warm_raw.count), (WARM_UP.min(n), WARM_UP.min(n)), "warm-up ({api})");
    let (sdk1, sdk1_client, sdk1_sim) = with_cpu(sim_pid, sdk(usize::MAX)).await;
    let (raw1, raw1_client, raw1_sim) = with_cpu(sim_pid, raw(usize::MAX)).await;
    let (raw2, raw2_client, raw2_sim) = with_cpu(sim_pid, raw(usize::MAX)).await;
    let (sdk2, sdk2_client, sdk2_sim) = with_cpu(sim_pid, sdk(usize::MAX)).await;
    let pages = (2 * n).div_ceil(200) as f64;
    let per_page_ms = |a: u64, b: u64| (a + b) as f64 / pages / 1e6;
    for phase in [&sdk1, &sdk2] {
        assert_eq!(phase.count, n, "every record streamed ({api})");
    }
    for phase in [&raw1, &raw2] {
        assert_eq!(phase.count, n, "every record fetched by hand ({api})");
    }
    let secs = |a: &Phase, b: &Phase| (a.elapsed + b.elapsed).as_secs_f64() / 2.0;
    let (sdk_s, raw_s) = (secs(&sdk1, &sdk2), secs(&raw1, &raw2));
    let mib = |a: &Phase, b: &Phase| a.rss_growth.max(b.rss_growth) as f64 / 1048576.0;
    format!(
        "export {api}: {n} records: sdk {:.0} records/s ({:.2} s), RSS growth while streaming {:.1} MiB, peak RSS {:.1} MiB; \
         raw {:.0} records/s ({:.2} s), RSS growth {:.1} MiB; time ratio sdk/raw {:.3} (runs: sdk {:.2} / {:.2} s, raw {:.2} / {:.2} s); \
         CPU per page: client sdk {:.2} ms, raw {:.2} ms; simulator for sdk {:.2} ms, for raw {:.2} ms",
        n as f64 / sdk_s,
        sdk_s,
        mib(&sdk1, &sdk2),
        support::peak_rss_bytes() as f64 / 1048576.0,
        n as f64 / raw_s,
        raw_s,
        mib(&raw1, &raw2),
        sdk_s / raw_s,
        sdk1.elapsed.as_secs_f64(),
        sdk2.elapsed.as_secs_f64(),
        raw1.elapsed.as_secs_f64(),
        raw2.elapsed.as_secs_f64(),
        per_page_ms(sdk1_client, sdk2_client),
        per_page_ms(raw1_client, raw2_client),
        per_page_ms(sdk1_sim, sdk2_sim),
        per_page_ms(raw1_sim, raw2_sim),
    )
}

fn main() {
    if let Some(leads) = std::env::var(SIM).ok().and_then(|v| v.parse().ok()) {
        sim_child(leads);
        return;
    }
    let sizes: &[usize] = if support::smoke() { &[500, 2_000] } else { &[5_000, 50_000] };
    let rt = support::runtime();
    let mut lines = Vec::new();
    for &n in sizes {
        let mut sim = spawn_sim(n);
        let endpoints = Endpoints::from_table(&sim.table).expect("endpoints");
        let base = endpoints.api_domain(DataCenter::Us, Environment::Production).to_owned();
        let zoho = Zoho::builder(support::credentials()).endpoints(endpoints).build().expect("zoho");
        let sim_pid = sim.child.id().to_string();
        rt.block_on(async {
            let token = zoho
                .connect_with_refresh_token(
                    "export",
                    DataCenter::Us,
                    Environment::Production,
                    sim.refresh_token.clone(),
                )
                .await
                .expect("connect");
            let key: TokenKey = token.key.clone();
            let crm = zoho.client(&key).await.expect("client");
            let http = zohocrm::transport::http_client_builder().no_proxy().build().expect("http");
            let auth =
                format!("Zoho-oauthtoken {}", zoho.tokens().access_token(&key).await.expect("token").secret().expose());

            let url = format!("{base}/crm/v2/Leads");
            lines.push(
                compare(
                    "v2",
                    n,
                    &sim_pid,
                    |limit| drain(crm.records("Leads", RecordQuery::default()), limit),
                    |limit| by_hand(&http, &auth, &url, &[("per_page", "200")], limit),
                )
                .await,
            );

            #[cfg(feature = "v8-core")]
            {
                let crm = zoho.client_v8(&key).await.expect("v8 client");
                let (url, fields) = (format!("{base}/crm/v8/Leads"), V8_FIELDS.join(","));
                let query = [("fields", fields.as_str()), ("per_page", "200")];
                lines.push(
                    compare(
                        "v8",
                        n,
                        &sim_pid,
                        |limit| drain(crm.records("Leads", zohocrm::client_v8::V8Query::fields(V8_FIELDS)), limit),
                        |limit| by_hand(&http, &auth, &url, &query, limit),
                    )
                    .await,
                );
            }
        });
        drop(sim.child.stdin.take());
        let _ = sim.child.wait();
    }
    for line in lines {
        println!("{line}");
    }
}
