//! Shared set-up for the SDK's end-to-end tests against the in-process simulator.
#![allow(dead_code, reason = "shared by several test crates; each uses a part of it")]

use std::sync::Arc;

use zohocrm::dc::{DataCenter, Endpoints, Environment};
use zohocrm::retry::RetryPolicy;
use zohocrm::store::{MemoryStore, TokenStore};
use zohocrm::testkit::{self, Decision, Simulator};
use zohocrm::{ClientCredentials, Token, Zoho};

/// Scopes that cover every call the tests make.
pub const SCOPES: &[&str] = &[
    "ZohoCRM.users.ALL",
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.org.ALL",
    "ZohoSearch.securesearch.READ",
];

/// The simulator's endpoint table as the SDK's `Endpoints`.
pub fn endpoints(sim: &Simulator) -> Endpoints {
    sim.sdk_endpoints().unwrap()
}

/// The simulator's default client with its per-DC secrets.
pub fn credentials() -> ClientCredentials {
    DataCenter::ALL.iter().fold(
        ClientCredentials::new(testkit::DEFAULT_CLIENT_ID, testkit::default_client_secret(DataCenter::Us)),
        |c, dc| c.with_dc_secret(*dc, testkit::default_client_secret(*dc)),
    )
}

/// A simulator and an SDK entry point wired to it (same clock, memory store).
pub struct Harness {
    pub sim: Simulator,
    pub zoho: Zoho,
}

pub async fn harness() -> Harness {
    harness_with(Arc::new(MemoryStore::new())).await
}

/// A harness whose `Zoho` never retries: most tests check what one fault does to one attempt.
pub async fn harness_with(store: Arc<dyn TokenStore>) -> Harness {
    harness_with_retry(store, RetryPolicy::disabled()).await
}

/// A harness with a retry policy (fast back-off in tests).
pub async fn harness_with_retry(store: Arc<dyn TokenStore>, policy: RetryPolicy) -> Harness {
    let sim = Simulator::start().await.unwrap();
    let zoho = Zoho::builder(credentials())
        .endpoints(endpoints(&sim))
        .clock(sim.clock())
        .shared_store(store)
        .retry_policy(policy)
        .build()
        .unwrap();
    Harness { sim, zoho }
}

/// The seeded user of a data center.
pub fn user_in(sim: &Simulator, dc: DataCenter) -> String {
    sim.users().into_iter().find(|u| u.dc == dc).map(|u| u.email).unwrap()
}

/// Runs the whole browser flow for `email` and stores the token under `user_key`.
pub async fn connect(h: &Harness, user_key: &str, email: &str, environment: Environment) -> Token {
    let dc = h.sim.users().into_iter().find(|u| u.email == email).map(|u| u.dc).unwrap();
    let mut request = h.zoho.authorization(testkit::DEFAULT_REDIRECT_URI).scopes(SCOPES.iter().copied());
    if dc == DataCenter::Cn {
        request = request.china();
    }
    let (url, pending) = request.build(h.zoho.endpoints()).unwrap();
    let redirect = h.sim.consent(&url, email, environment, Decision::Accept).await.unwrap();
    h.zoho.complete_authorization(user_key, &redirect, &pending).await.unwrap()
}
