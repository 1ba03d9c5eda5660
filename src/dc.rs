//! Zoho data centers and environments (skeleton; the full table lands with issue 4).

use std::fmt;

/// A Zoho data center: where a user's account and CRM org live.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataCenter {
    /// United States (`.com`).
    Us,
    /// Europe (`.eu`).
    Eu,
    /// India (`.in`).
    In,
    /// Australia (`.com.au`).
    Au,
    /// China (`.com.cn`).
    Cn,
    /// Japan (`.jp`).
    Jp,
    /// Canada (`zohocloud.ca`).
    Ca,
    /// Saudi Arabia (`.sa`).
    Sa,
}

impl DataCenter {
    /// Every data center, in Zoho's order.
    pub const ALL: [DataCenter; 8] = [Self::Us, Self::Eu, Self::In, Self::Au, Self::Cn, Self::Jp, Self::Ca, Self::Sa];

    /// The `location` code Zoho puts on the redirect (`us`, `eu`, ...).
    pub fn location(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::Eu => "eu",
            Self::In => "in",
            Self::Au => "au",
            Self::Cn => "cn",
            Self::Jp => "jp",
            Self::Ca => "ca",
            Self::Sa => "sa",
        }
    }
}

impl fmt::Display for DataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.location())
    }
}

/// A CRM environment: production (Zoho's default), sandbox or developer org.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The live org (`www.zohoapis.*`).
    #[default]
    Production,
    /// The sandbox org (`sandbox.zohoapis.*`).
    Sandbox,
    /// The developer org (`developer.zohoapis.*`).
    Developer,
}

impl Environment {
    /// Every environment.
    pub const ALL: [Environment; 3] = [Self::Production, Self::Sandbox, Self::Developer];

    /// Lower-case name: `production`, `sandbox`, `developer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Sandbox => "sandbox",
            Self::Developer => "developer",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
