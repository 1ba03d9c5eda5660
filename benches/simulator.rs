//! Simulator throughput: requests per second for a small CRM call (`GET /crm/v2/org` with a valid
//! token) from N concurrent keep-alive clients, against a bare axum server answering the same
//! bytes on the same loopback in the same run (the floor: HTTP on this machine). Client and
//! server share the process and its two worker threads, as in a user's test suite.
//!
//! `cargo bench --bench simulator --features testkit` — prints `simulator:` lines.
//! `cargo bench --bench simulator --features testkit -- --test` — CI smoke.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zohocrm::testkit::SimConfig;
use zohocrm::{DataCenter, Environment};

/// Requests per second of `clients` clients, each with its own connection, for `duration`.
async fn throughput(url: &str, auth: &str, clients: usize, duration: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let http = zohocrm::transport::http_client_builder().no_proxy().build().expect("http");
        let (url, auth, done, stop) = (url.to_owned(), auth.to_owned(), done.clone(), stop.clone());
        set.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = http.get(&url).header(reqwest::header::AUTHORIZATION, &auth).send().await.expect("send");
                assert!(response.status().is_success(), "{}", response.status());
                std::hint::black_box(response.bytes().await.expect("body"));
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    // Warm-up: connections open, then count.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (start, at_start) = (Instant::now(), done.load(Ordering::Relaxed));
    tokio::time::sleep(duration).await;
    let counted = done.load(Ordering::Relaxed) - at_start;
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = set.join_next().await {
        r.expect("client");
    }
    counted as f64 / elapsed.as_secs_f64()
}

fn main() {
    let smoke = support::smoke();
    let duration = Duration::from_millis(if smoke { 200 } else { 3000 });
    let rt = support::runtime();
    let lines = rt.block_on(async {
        let s = support::setup_memory(SimConfig::default()).await;
        let token = s.zoho.tokens().access_token(&s.key).await.expect("token");
        let auth = format!("Zoho-oauthtoken {}", token.secret().expose());
        let sim_url = format!("{}/crm/v2/org", s.sim.api_url(DataCenter::Us, Environment::Production));
        let http = zohocrm::transport::http_client_builder().no_proxy().build().expect("http");
        let body = http.get(&sim_url).header(reqwest::header::AUTHORIZATION, &auth).send().await.expect("org");
        let body = body.bytes().await.expect("body");

        // The floor: the same answer from a bare axum route.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let floor_url = format!("http://{}/crm/v2/org", listener.local_addr().expect("addr"));
        let answer = body.clone();
        let app = axum::Router::new().route(
            "/crm/v2/org",
            axum::routing::get(move || {
                let answer = answer.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], answer) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut lines = Vec::new();
        for clients in [1usize, 8, 32] {
            // Interleaved: floor, simulator, floor, simulator.
            let (mut sim_rps, mut floor_rps) = (0.0, 0.0);
            let rounds = if smoke { 1 } else { 2 };
            for _ in 0..rounds {
                floor_rps += throughput(&floor_url, &auth, clients, duration).await / rounds as f64;
                sim_rps += throughput(&sim_url, &auth, clients, duration).await / rounds as f64;
            }
            lines.push(format!(
                "simulator: GET /crm/v2/org ({} bytes), {clients} client(s): simulator {sim_rps:.0} req/s, \
                 bare axum {floor_rps:.0} req/s, simulator/floor {:.2}",
                body.len(),
                sim_rps / floor_rps
            ));
        }
        lines
    });
    for line in lines {
        println!("{line}");
    }
}
