//! Export: stream every Leads record through the v2 listing stream (`CrmClient::records`, 200
//! per page) — records per second and the growth of this process's resident memory while
//! streaming, at 5,000 and 50,000 records (it should stay flat: the stream holds one page at a
//! time). The same pages fetched by hand-written `reqwest` + `serde_json` run in the same
//! process right after, for the ratio.
//!
//! The simulator runs in a child process (this bench binary again, `ZOHOCRM_EXPORT_SIM` set),
//! seeded through `SimConfig::us_leads`, so the memory measured here is the SDK's alone.
//!
//! `cargo bench --bench export --features testkit` — prints `export:` lines.
//! `cargo bench --bench export --features testkit -- --test` — CI smoke (500 and 2,000 records).

#[path = "support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use futures_util::StreamExt;
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
        let (sdk, raw) = rt.block_on(async {
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

            // The SDK's stream.
            let before = support::rss_bytes();
            let mut peak = before;
            let start = Instant::now();
            let mut stream = crm.records("Leads", RecordQuery::default());
            let mut count = 0usize;
            while let Some(record) = stream.next().await {
                std::hint::black_box(record.expect("record"));
                count += 1;
                if count.is_multiple_of(200) {
                    peak = peak.max(support::rss_bytes());
                }
            }
            let sdk = (count, start.elapsed(), peak.saturating_sub(before));
            drop(stream);

            // The same pages by hand.
            let http = zohocrm::transport::http_client_builder().no_proxy().build().expect("http");
            let auth =
                format!("Zoho-oauthtoken {}", zoho.tokens().access_token(&key).await.expect("token").secret().expose());
            let before = support::rss_bytes();
            let mut peak = before;
            let start = Instant::now();
            let (mut count, mut page) = (0usize, 1u32);
            loop {
                let response = http
                    .get(format!("{base}/crm/v2/Leads"))
                    .query(&[("page", page.to_string()), ("per_page", "200".to_owned())])
                    .header(reqwest::header::AUTHORIZATION, &auth)
                    .send()
                    .await
                    .expect("send");
                if response.status() == reqwest::StatusCode::NO_CONTENT {
                    break;
                }
                let body = response.bytes().await.expect("body");
                let parsed: RawPage = serde_json::from_slice(&body).expect("page");
                for record in parsed.data {
                    std::hint::black_box(record);
                    count += 1;
                }
                peak = peak.max(support::rss_bytes());
                if !parsed.info.is_some_and(|i| i.more_records) {
                    break;
                }
                page += 1;
            }
            (sdk, (count, start.elapsed(), peak.saturating_sub(before)))
        });
        drop(sim.child.stdin.take());
        let _ = sim.child.wait();
        assert_eq!(sdk.0, n, "every record streamed");
        assert_eq!(raw.0, n, "every record fetched by hand");
        lines.push(format!(
            "export: {n} records: sdk {:.0} records/s ({:.2} s), RSS growth while streaming {:.1} MiB, peak RSS {:.1} MiB; \
             raw {:.0} records/s ({:.2} s), RSS growth {:.1} MiB; time ratio sdk/raw {:.3}",
            n as f64 / sdk.1.as_secs_f64(),
            sdk.1.as_secs_f64(),
            sdk.2 as f64 / 1048576.0,
            support::peak_rss_bytes() as f64 / 1048576.0,
            n as f64 / raw.1.as_secs_f64(),
            raw.1.as_secs_f64(),
            raw.2 as f64 / 1048576.0,
            sdk.1.as_secs_f64() / raw.1.as_secs_f64(),
        ));
    }
    for line in lines {
        println!("{line}");
    }
}
