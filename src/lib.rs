// The rendered crate documentation is the README (its examples run as doc tests through
// `ReadmeDoctests` below, with the simulator), followed by the module map.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
//!
//! ## Modules
//!
//! - [`accounts`] and [`crm`]: clients generated at build time from `spec/*.yaml` (progenitor).
//! - [`dc`]: data centers, environments and the [`Endpoints`] table; [`credentials`]: client id
//!   and per-DC secrets.
//! - [`oauth`]: authorization URL, callback, code exchange, refresh, revoke; [`scopes`]: what
//!   each operation needs.
//! - [`manager`]: the token cache with single-flight refresh; [`store`]: where tokens live;
//!   [`retry`]: the one retry policy.
//! - [`client`]: the typed CRM client of one user; [`Zoho`]: the application-wide entry point.
//! - `testkit` (feature `testkit`): a local Zoho simulator.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod client;
pub mod clock;
pub mod coql;
pub mod credentials;
pub mod dc;
mod encoding;
pub mod error;
pub mod manager;
pub mod nocontent;
pub mod oauth;
mod path;
pub mod retry;
pub mod scopes;
pub mod secret;
pub mod store;
pub mod token;
pub mod transport;

#[cfg(feature = "testkit")]
pub mod testkit;

/// The README's Rust examples, run as doc tests against the simulator.
#[cfg(all(doctest, feature = "testkit", feature = "sqlite"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use app::{Zoho, ZohoBuilder};
pub use client::CrmClient;
pub use credentials::ClientCredentials;
pub use dc::{DataCenter, Endpoints, Environment};
pub use error::{Error, Result};
pub use secret::SecretString;
pub use token::{Token, TokenKey};

/// The generated Zoho Accounts client (`spec/accounts.yaml`).
#[allow(rustdoc::bare_urls, rustdoc::broken_intra_doc_links, missing_docs, clippy::all)]
mod accounts_gen {
    #[cfg(feature = "codegen")]
    include!(concat!(env!("OUT_DIR"), "/accounts.rs"));
    #[cfg(not(feature = "codegen"))]
    include!("../generated/accounts.rs");
}

/// The generated Zoho CRM v2 client (`spec/crm-v2.yaml`).
#[allow(rustdoc::bare_urls, rustdoc::broken_intra_doc_links, missing_docs, clippy::all)]
mod crm_gen {
    #[cfg(feature = "codegen")]
    include!(concat!(env!("OUT_DIR"), "/crm.rs"));
    #[cfg(not(feature = "codegen"))]
    include!("../generated/crm.rs");
}

pub mod accounts {
    //! Typed Zoho Accounts client, generated from `spec/accounts.yaml` (token, revoke, serverinfo).
    pub use crate::accounts_gen::*;
}

pub mod crm {
    //! Typed Zoho CRM v2 client, generated from `spec/crm-v2.yaml` (users, metadata, org, records).
    pub use crate::crm_gen::*;
}
