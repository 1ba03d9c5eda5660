//! zohocrm: a typed Rust SDK for Zoho CRM v2 and Zoho Accounts OAuth.

pub mod clock;
pub mod dc;
pub mod secret;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod token;
pub mod transport;

pub use secret::SecretString;

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
    //! Typed Zoho Accounts client, generated from `spec/accounts.yaml`.
    pub use crate::accounts_gen::*;
}

pub mod crm {
    //! Typed Zoho CRM v2 client, generated from `spec/crm-v2.yaml`.
    pub use crate::crm_gen::*;
}
