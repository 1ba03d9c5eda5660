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
#[cfg(feature = "v8-core")]
pub mod client_v8;
pub mod clock;
pub mod coql;
pub mod credentials;
pub mod dc;
mod encoding;
pub mod error;
pub mod manager;
pub mod nocontent;
pub mod oauth;
mod open_object;
mod path;
pub mod refresh;
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
pub use secret::{AccessToken, AuthorizationCode, ClientSecret, CsrfState, RefreshToken, SecretString};
pub use token::{Token, TokenKey};

/// Includes one generated client: the one `build.rs` writes into `OUT_DIR` (feature `codegen`),
/// or the committed copy in `generated/`. Generated code keeps progenitor's style and the
/// spec's text as docs, so its lints are not ours.
macro_rules! generated {
    ($(#[$attr:meta])* $module:ident, $file:literal) => {
        $(#[$attr])*
        #[allow(
            rustdoc::bare_urls,
            rustdoc::broken_intra_doc_links,
            rustdoc::invalid_html_tags,
            missing_docs,
            clippy::all,
            reason = "generated code: its docs are the spec's text and its style is progenitor's"
        )]
        mod $module {
            #[cfg(feature = "codegen")]
            include!(concat!(env!("OUT_DIR"), "/", $file));
            #[cfg(not(feature = "codegen"))]
            include!(concat!("../generated/", $file));
        }
    };
}

generated!(
    /// The generated Zoho Accounts client (`spec/accounts.yaml`).
    accounts_gen, "accounts.rs"
);

generated!(
    /// The generated Zoho CRM v2 client (`spec/crm-v2.yaml`).
    crm_gen, "crm.rs"
);

pub mod accounts {
    //! Typed Zoho Accounts client, generated from `spec/accounts.yaml` (token, revoke, serverinfo).
    pub use crate::accounts_gen::*;
}

pub mod crm {
    //! Typed Zoho CRM v2 client, generated from `spec/crm-v2.yaml` (users, metadata, org, records).
    pub use crate::crm_gen::*;
}

generated!(
    /// The generated Zoho CRM v8 `core` client (`spec/crm-v8/core.json`).
    #[cfg(feature = "v8-core")]
    crm_v8_core_gen, "crm_v8_core.rs"
);

generated!(
    /// The generated Zoho CRM v8 `records` client (`spec/crm-v8/records.json`).
    #[cfg(feature = "v8-records")]
    crm_v8_records_gen, "crm_v8_records.rs"
);

generated!(
    /// The generated Zoho CRM v8 `settings` client (`spec/crm-v8/settings.json`).
    #[cfg(feature = "v8-settings")]
    crm_v8_settings_gen, "crm_v8_settings.rs"
);

generated!(
    /// The generated Zoho CRM v8 `bulk` client (`spec/crm-v8/bulk.json`).
    #[cfg(feature = "v8-bulk")]
    crm_v8_bulk_gen, "crm_v8_bulk.rs"
);

generated!(
    /// The generated Zoho CRM v8 `email` client (`spec/crm-v8/email.json`).
    #[cfg(feature = "v8-email")]
    crm_v8_email_gen, "crm_v8_email.rs"
);

#[cfg(any(
    feature = "v8-core",
    feature = "v8-records",
    feature = "v8-settings",
    feature = "v8-bulk",
    feature = "v8-email"
))]
pub mod crm_v8 {
    //! Typed Zoho CRM v8 clients generated from Zoho's own OpenAPI files (zoho/crm-oas, commit
    //! `45dff2cc9c69403c85b8a3642e7056528dc668d5`, imported and normalized by
    //! `cargo xtask import-oas` into `spec/crm-v8/`; what changed and what is left out is in
    //! `spec/crm-v8/IMPORT-REPORT.md`). One client per group, each behind its feature: `core`
    //! (`v8-core`), `records` (`v8-records`), `settings` (`v8-settings`), `bulk` (`v8-bulk`),
    //! `email` (`v8-email`); `v8-all` enables every group. Each client carries the same hook
    //! state as [`crate::crm`] ([`crate::client::CrmContext`]): authorization, refresh-and-replay,
    //! retries, tracing and the path-segment check.

    #[cfg(feature = "v8-core")]
    pub mod core {
        //! Typed Zoho CRM v8 client for users, modules, fields, layouts, org, records (get, list, insert, update, upsert, delete, search, deleted, count) and COQL
        //! (feature `v8-core`, `spec/crm-v8/core.json`).
        pub use crate::crm_v8_core_gen::*;
    }

    #[cfg(feature = "v8-records")]
    pub mod records {
        //! Typed Zoho CRM v8 client for notes, attachments, related records, tags, photos, conversion, owners, sharing, locking, timelines, recycle bin, enrichment
        //! (feature `v8-records`, `spec/crm-v8/records.json`).
        pub use crate::crm_v8_records_gen::*;
    }

    #[cfg(feature = "v8-settings")]
    pub mod settings {
        //! Typed Zoho CRM v8 client for setup metadata: views, related lists, profiles, roles, territories, groups, picklists, pipelines, currencies, hours, variables, rules, portals, preferences
        //! (feature `v8-settings`, `spec/crm-v8/settings.json`).
        pub use crate::crm_v8_settings_gen::*;
    }

    #[cfg(feature = "v8-bulk")]
    pub mod bulk {
        //! Typed Zoho CRM v8 client for bulk read and write, mass operations, composite requests, backup, audit log export
        //! (feature `v8-bulk`, `spec/crm-v8/bulk.json`).
        pub use crate::crm_v8_bulk_gen::*;
    }

    #[cfg(feature = "v8-email")]
    pub mod email {
        //! Typed Zoho CRM v8 client for send mail, drafts, templates, compose, from addresses, related emails, sharing, unsubscribe links, mail merge
        //! (feature `v8-email`, `spec/crm-v8/email.json`).
        pub use crate::crm_v8_email_gen::*;
    }
}
