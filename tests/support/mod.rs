//! Shared helpers of the contract tests: a loopback HTTP capture server, request shapes with
//! secrets redacted, and a reader of the generated clients' API surface.
#![allow(dead_code, reason = "shared by several test crates; each uses a part of it")]

pub mod capture;
pub mod surface;

/// A reqwest client for loopback tests, built the way the SDK builds its clients.
pub fn http_client() -> reqwest::Client {
    zohocrm::transport::http_client_builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("a plain reqwest client builds")
}

/// The generated CRM client pointed at `base_url`.
pub fn crm_client(base_url: &str) -> zohocrm::crm::Client {
    zohocrm::crm::Client::new_with_client(base_url, http_client(), Default::default())
}

/// The generated Accounts client pointed at `base_url`.
pub fn accounts_client(base_url: &str) -> zohocrm::accounts::Client {
    zohocrm::accounts::Client::new_with_client(base_url, http_client(), Default::default())
}
