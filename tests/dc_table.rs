//! The DC × environment table: snapshot, docs/zoho-facts.md §1.1 rows hard-coded, parsing and serde.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Serialize;
use zohocrm::dc::{DataCenter, Endpoints, Environment};

/// docs/zoho-facts.md §1.1, copied by hand: (location, name, accounts server, token URL, production,
/// sandbox, developer, file-upload host). Kept independent of the snapshot on purpose, so a
/// wrong URL fails here even if someone re-accepts the snapshot.
/// (location, name, accounts, token, production, sandbox, developer, file upload).
type FactsRow =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

#[rustfmt::skip]
const FACTS: [FactsRow; 8] = [
    ("us", "United States", "https://accounts.zoho.com", "https://accounts.zoho.com/oauth/v2/token",
     "https://www.zohoapis.com", "https://sandbox.zohoapis.com", "https://developer.zohoapis.com",
     "https://content.zohoapis.com"),
    ("eu", "Europe", "https://accounts.zoho.eu", "https://accounts.zoho.eu/oauth/v2/token",
     "https://www.zohoapis.eu", "https://sandbox.zohoapis.eu", "https://developer.zohoapis.eu",
     "https://content.zohoapis.eu"),
    ("in", "India", "https://accounts.zoho.in", "https://accounts.zoho.in/oauth/v2/token",
     "https://www.zohoapis.in", "https://sandbox.zohoapis.in", "https://developer.zohoapis.in",
     "https://content.zohoapis.in"),
    ("au", "Australia", "https://accounts.zoho.com.au", "https://accounts.zoho.com.au/oauth/v2/token",
     "https://www.zohoapis.com.au", "https://sandbox.zohoapis.com.au", "https://developer.zohoapis.com.au",
     "https://content.zohoapis.com.au"),
    ("cn", "China", "https://accounts.zoho.com.cn", "https://accounts.zoho.com.cn/oauth/v2/token",
     "https://www.zohoapis.com.cn", "https://sandbox.zohoapis.com.cn", "https://developer.zohoapis.com.cn",
     "https://content.zohoapis.com.cn"),
    ("jp", "Japan", "https://accounts.zoho.jp", "https://accounts.zoho.jp/oauth/v2/token",
     "https://www.zohoapis.jp", "https://sandbox.zohoapis.jp", "https://developer.zohoapis.jp",
     "https://content.zohoapis.jp"),
    ("ca", "Canada", "https://accounts.zohocloud.ca", "https://accounts.zohocloud.ca/oauth/v2/token",
     "https://www.zohoapis.ca", "https://sandbox.zohoapis.ca", "https://developer.zohoapis.ca",
     "https://upload.zohocloud.ca"),
    ("sa", "Saudi Arabia", "https://accounts.zoho.sa", "https://accounts.zoho.sa/oauth/v2/token",
     "https://www.zohoapis.sa", "https://sandbox.zohoapis.sa", "https://developer.zohoapis.sa",
     "https://files.zoho.sa"),
];

#[test]
fn table_matches_facts_row_by_row() {
    assert_eq!(DataCenter::ALL.len(), FACTS.len());
    let endpoints = Endpoints::zoho();
    for (dc, row) in DataCenter::ALL.into_iter().zip(FACTS) {
        let (location, name, accounts, token, prd, sdb, dev, upload) = row;
        assert_eq!(dc.location(), location);
        assert_eq!(dc.to_string(), location);
        assert_eq!(dc.name(), name);
        assert_eq!(dc.accounts_server(), accounts, "{dc} accounts server");
        assert_eq!(dc.token_url(), token, "{dc} token URL");
        assert_eq!(dc.revoke_url(), format!("{accounts}/oauth/v2/token/revoke"));
        assert_eq!(dc.api_domain(Environment::Production), prd, "{dc} production");
        assert_eq!(dc.api_domain(Environment::Sandbox), sdb, "{dc} sandbox");
        assert_eq!(dc.api_domain(Environment::Developer), dev, "{dc} developer");
        assert_eq!(dc.file_upload_host(), upload, "{dc} file upload");
        // The Endpoints view of Zoho's table agrees with the static accessors.
        assert_eq!(endpoints.accounts_server(dc), accounts);
        assert_eq!(endpoints.token_url(dc), token);
        assert_eq!(endpoints.revoke_url(dc), dc.revoke_url());
        assert_eq!(endpoints.serverinfo_url(dc), format!("{accounts}/oauth/serverinfo"));
        assert_eq!(endpoints.api_domain(dc, Environment::Production), prd);
        assert_eq!(endpoints.api_domain(dc, Environment::Sandbox), sdb);
        assert_eq!(endpoints.api_domain(dc, Environment::Developer), dev);
    }
}

#[test]
fn authorization_starts_at_com_except_china() {
    let endpoints = Endpoints::zoho();
    for dc in DataCenter::ALL {
        let expected = if dc == DataCenter::Cn {
            "https://accounts.zoho.com.cn/oauth/v2/auth"
        } else {
            "https://accounts.zoho.com/oauth/v2/auth"
        };
        assert_eq!(endpoints.authorization_url_base(dc), expected, "{dc}");
        assert_eq!(format!("{}/oauth/v2/auth", dc.authorization_server()), expected, "{dc}");
    }
}

#[test]
fn environment_names_and_prefixes() {
    assert_eq!(Environment::default(), Environment::Production);
    let got: Vec<_> = Environment::ALL.iter().map(|e| (e.as_str(), e.api_prefix(), e.to_string())).collect();
    assert_eq!(
        got,
        [
            ("production", "www", "production".to_owned()),
            ("sandbox", "sandbox", "sandbox".to_owned()),
            ("developer", "developer", "developer".to_owned())
        ]
    );
    for dc in DataCenter::ALL {
        for env in Environment::ALL {
            let host = dc.api_domain(env).strip_prefix("https://").unwrap();
            assert!(host.starts_with(&format!("{}.zohoapis.", env.api_prefix())), "{dc} {env}: {host}");
        }
    }
}

#[derive(Serialize)]
struct SnapshotRow {
    dc: DataCenter,
    name: &'static str,
    accounts_server: &'static str,
    token_url: &'static str,
    revoke_url: &'static str,
    authorization_url: String,
    serverinfo_url: String,
    api: BTreeMap<Environment, &'static str>,
    file_upload_host: &'static str,
}

#[test]
fn table_snapshot() {
    let endpoints = Endpoints::zoho();
    let rows: Vec<SnapshotRow> = DataCenter::ALL
        .into_iter()
        .map(|dc| SnapshotRow {
            dc,
            name: dc.name(),
            accounts_server: dc.accounts_server(),
            token_url: dc.token_url(),
            revoke_url: dc.revoke_url(),
            authorization_url: endpoints.authorization_url_base(dc),
            serverinfo_url: endpoints.serverinfo_url(dc),
            api: Environment::ALL.into_iter().map(|env| (env, dc.api_domain(env))).collect(),
            file_upload_host: dc.file_upload_host(),
        })
        .collect();
    insta::assert_yaml_snapshot!("dc_table", rows);
}

#[test]
fn endpoint_table_shape_snapshot() {
    // The JSON shape shared with the simulator.
    insta::assert_json_snapshot!("endpoint_table_zoho", Endpoints::zoho().table());
}

#[test]
fn location_parsing_is_case_insensitive_and_trims() {
    for dc in DataCenter::ALL {
        let code = dc.location();
        assert_eq!(DataCenter::from_location(code), Ok(dc));
        assert_eq!(DataCenter::from_location(&code.to_uppercase()), Ok(dc));
        assert_eq!(DataCenter::from_location(&format!("  {code}\t")), Ok(dc));
        assert_eq!(DataCenter::from_str(code), Ok(dc));
        assert_eq!(code.parse::<DataCenter>(), Ok(dc));
    }
    for bad in ["", "uk", "usa", "com", "e u", "eu.", ".eu", "zoho.eu", "us\0"] {
        assert!(DataCenter::from_location(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn unknown_location_error_names_received_and_accepted() {
    let err = DataCenter::from_location("xx").unwrap_err();
    assert_eq!(err.to_string(), "unknown Zoho data center location \"xx\"; accepted: us, eu, in, au, cn, jp, ca, sa");
    let uk = DataCenter::from_location("uk").unwrap_err().to_string();
    assert!(uk.contains("UK data center is not supported"), "{uk}");
}

#[test]
fn environment_parsing() {
    for env in Environment::ALL {
        assert_eq!(env.as_str().parse::<Environment>(), Ok(env));
        assert_eq!(env.as_str().to_uppercase().parse::<Environment>(), Ok(env));
    }
    let err = "prod".parse::<Environment>().unwrap_err();
    assert_eq!(err.to_string(), "unknown Zoho CRM environment \"prod\"; accepted: production, sandbox, developer");
}

#[test]
fn serde_is_lowercase_location_and_environment_name() {
    for dc in DataCenter::ALL {
        let json = serde_json::to_string(&dc).unwrap();
        assert_eq!(json, format!("\"{}\"", dc.location()));
        assert_eq!(serde_json::from_str::<DataCenter>(&json).unwrap(), dc);
    }
    for env in Environment::ALL {
        let json = serde_json::to_string(&env).unwrap();
        assert_eq!(json, format!("\"{}\"", env.as_str()));
        assert_eq!(serde_json::from_str::<Environment>(&json).unwrap(), env);
    }
    assert!(serde_json::from_str::<DataCenter>("\"uk\"").is_err());
}
