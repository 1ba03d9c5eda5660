//! Zoho's own data-center table: the one place its hosts and OAuth paths are written down
//! (from Zoho's documentation; see `docs/zoho-facts.md` §1.1 in this repository).

use super::{DataCenter, Environment};

/// One data center's row of Zoho's table.
pub(super) struct Row {
    pub(super) dc: DataCenter,
    pub(super) location: &'static str,
    pub(super) name: &'static str,
    pub(super) accounts_server: &'static str,
    pub(super) token_url: &'static str,
    pub(super) revoke_url: &'static str,
    /// CRM API base per environment, in [`Environment::ALL`] order.
    pub(super) api: [&'static str; 3],
    pub(super) file_upload_host: &'static str,
}

/// Builds a [`Row`]; token and revoke URLs are derived from the accounts server literal.
macro_rules! row {
    ($dc:ident, $location:literal, $name:literal, accounts: $accounts:literal,
     api: [$production:literal, $sandbox:literal, $developer:literal], upload: $upload:literal) => {
        Row {
            dc: DataCenter::$dc,
            location: $location,
            name: $name,
            accounts_server: $accounts,
            token_url: concat!($accounts, "/oauth/v2/token"),
            revoke_url: concat!($accounts, "/oauth/v2/token/revoke"),
            api: [$production, $sandbox, $developer],
            file_upload_host: $upload,
        }
    };
}

/// Zoho's data centers, in [`DataCenter::ALL`] order (checked at compile time below).
pub(super) const TABLE: [Row; 8] = [
    row!(Us, "us", "United States", accounts: "https://accounts.zoho.com",
         api: ["https://www.zohoapis.com", "https://sandbox.zohoapis.com", "https://developer.zohoapis.com"],
         upload: "https://content.zohoapis.com"),
    row!(Eu, "eu", "Europe", accounts: "https://accounts.zoho.eu",
         api: ["https://www.zohoapis.eu", "https://sandbox.zohoapis.eu", "https://developer.zohoapis.eu"],
         upload: "https://content.zohoapis.eu"),
    row!(In, "in", "India", accounts: "https://accounts.zoho.in",
         api: ["https://www.zohoapis.in", "https://sandbox.zohoapis.in", "https://developer.zohoapis.in"],
         upload: "https://content.zohoapis.in"),
    row!(Au, "au", "Australia", accounts: "https://accounts.zoho.com.au",
         api: ["https://www.zohoapis.com.au", "https://sandbox.zohoapis.com.au", "https://developer.zohoapis.com.au"],
         upload: "https://content.zohoapis.com.au"),
    row!(Cn, "cn", "China", accounts: "https://accounts.zoho.com.cn",
         api: ["https://www.zohoapis.com.cn", "https://sandbox.zohoapis.com.cn", "https://developer.zohoapis.com.cn"],
         upload: "https://content.zohoapis.com.cn"),
    row!(Jp, "jp", "Japan", accounts: "https://accounts.zoho.jp",
         api: ["https://www.zohoapis.jp", "https://sandbox.zohoapis.jp", "https://developer.zohoapis.jp"],
         upload: "https://content.zohoapis.jp"),
    row!(Ca, "ca", "Canada", accounts: "https://accounts.zohocloud.ca",
         api: ["https://www.zohoapis.ca", "https://sandbox.zohoapis.ca", "https://developer.zohoapis.ca"],
         upload: "https://upload.zohocloud.ca"),
    row!(Sa, "sa", "Saudi Arabia", accounts: "https://accounts.zoho.sa",
         api: ["https://www.zohoapis.sa", "https://sandbox.zohoapis.sa", "https://developer.zohoapis.sa"],
         upload: "https://files.zoho.sa"),
];

// `TABLE[dc as usize]` and `Endpoints`' arrays rely on these orders.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].dc as usize == i);
        assert!(DataCenter::ALL[i] as usize == i);
        i += 1;
    }
    let mut e = 0;
    while e < Environment::ALL.len() {
        assert!(Environment::ALL[e] as usize == e);
        e += 1;
    }
};

/// Path of the authorization endpoint on an accounts server.
pub(super) const AUTH_PATH: &str = "/oauth/v2/auth";
/// Path of the token endpoint on an accounts server.
pub(super) const TOKEN_PATH: &str = "/oauth/v2/token";
/// Path of the revoke endpoint on an accounts server.
pub(super) const REVOKE_PATH: &str = "/oauth/v2/token/revoke";
/// Path of the serverinfo endpoint on an accounts server.
pub(super) const SERVERINFO_PATH: &str = "/oauth/serverinfo";
