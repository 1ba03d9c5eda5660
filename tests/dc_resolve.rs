//! Resolving what Zoho hands an app (redirect, token response, serverinfo) against the table in
//! force, hostile look-alikes, error messages, and `Endpoints` overrides.

use std::collections::BTreeMap;

use zohocrm::dc::{DataCenter, DcError, EndpointTable, Endpoints, Environment};

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/zoho/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Hostile or malformed variants of the EU accounts server; every one must be rejected.
const HOSTILE_EU: &[&str] = &[
    "accounts.zoho.eu",
    "accounts.zoho.eu.evil.com",
    "https://accounts.zoho.eu.evil.com",
    "https://evil.com/?accounts.zoho.eu",
    "https://evil.com/?x=https://accounts.zoho.eu",
    "https://accounts.zoho.eu@evil.com",
    "https://evil.com@accounts.zoho.eu",
    "https://user:pass@accounts.zoho.eu",
    "https://evil.com#accounts.zoho.eu",
    "https://accounts.zoho.eu#",
    "https://accounts.zoho.eu?",
    "https://accounts.zoho.eu/?",
    "https://accounts.zoho.eu.",
    "https://accounts.zoho.eu./",
    "https://accounts.zoho.eu:443",
    "https://accounts.zoho.eu:8443",
    "https://accounts.zoho.eu:",
    "https://accounts.zoho.eu/oauth",
    "https://accounts.zoho.eu/oauth/v2/token",
    "https://accounts.zoho.eu//",
    "https://accounts.zoho.eu/..",
    "https://accounts.zoho.eu\\@evil.com",
    "https://accounts.zoho.eu\\.evil.com",
    "https://evil.com\\accounts.zoho.eu",
    "http://accounts.zoho.eu",
    "ftp://accounts.zoho.eu",
    "javascript://accounts.zoho.eu",
    "//accounts.zoho.eu",
    "https:/accounts.zoho.eu",
    "https:///accounts.zoho.eu",
    "https://accounts%2Ezoho.eu",
    "https://accounts.zoho.eu%2F",
    "https://accounts.zoho.eu%2f.evil.com",
    "https://accounts.zoho.eu%40evil.com",
    "https%3A%2F%2Faccounts.zoho.eu%40evil.com",
    "https%3A%2F%2Fevil.com%2F%3Faccounts.zoho.eu",
    "https%3A%2F%2Fevil.com%23accounts.zoho.eu",
    "https%253A%252F%252Faccounts.zoho.eu",
    "https%3A%2F%2Faccounts.zoho.eu%252F",
    "https://accounts.zoho.eu ",
    " https://accounts.zoho.eu",
    "https://accounts.zo\nho.eu",
    "https://accounts.zo\tho.eu",
    "https://accounts.zoho.eu\0",
    "https://ａccounts.zoho.eu",
    "https://accounts.zoho.eu\u{200b}",
    "https://xn--accounts-.zoho.eu",
    "https://accounts.zoho.europe",
    "https://accounts-zoho.eu",
    "https://accounts.zoho.eu.",
    "https://0x7f.0.0.1",
    "",
    "https://",
    "%",
    "%zz",
];

#[test]
fn redirect_from_zoho_examples() {
    let e = Endpoints::zoho();
    // docs/zoho-facts.md §2.1, Zoho's own examples.
    assert_eq!(e.resolve_redirect(Some("us"), Some("https://accounts.zoho.com")), Ok(DataCenter::Us));
    assert_eq!(e.resolve_redirect(Some("in"), Some("https://accounts.zoho.in")), Ok(DataCenter::In));
    // accounts-server still percent-encoded, as seen in the wild.
    assert_eq!(e.resolve_redirect(Some("us"), Some("https%3A%2F%2Faccounts.zoho.com")), Ok(DataCenter::Us));
    assert_eq!(e.resolve_redirect(Some("ca"), Some("https%3a%2f%2faccounts.zohocloud.ca")), Ok(DataCenter::Ca));
    // Either one alone.
    assert_eq!(e.resolve_redirect(Some("cn"), None), Ok(DataCenter::Cn));
    assert_eq!(e.resolve_redirect(None, Some("https://accounts.zoho.sa")), Ok(DataCenter::Sa));
}

#[test]
fn redirect_every_dc_both_ways() {
    let e = Endpoints::zoho();
    for dc in DataCenter::ALL {
        assert_eq!(e.resolve_redirect(Some(dc.location()), Some(dc.accounts_server())), Ok(dc));
        assert_eq!(e.resolve_redirect(Some(&dc.location().to_uppercase()), None), Ok(dc));
        assert_eq!(e.resolve_redirect(None, Some(dc.accounts_server())), Ok(dc));
    }
}

#[test]
fn redirect_disagreement_and_absence() {
    let e = Endpoints::zoho();
    assert_eq!(
        e.resolve_redirect(Some("eu"), Some("https://accounts.zoho.in")),
        Err(DcError::Mismatch { location: DataCenter::Eu, accounts_server: DataCenter::In })
    );
    assert_eq!(e.resolve_redirect(None, None), Err(DcError::MissingLocation));
    // A valid location does not excuse a foreign accounts server.
    assert!(matches!(
        e.resolve_redirect(Some("eu"), Some("https://accounts.zoho.eu.evil.com")),
        Err(DcError::UnknownAccountsServer { .. })
    ));
    assert!(matches!(
        e.resolve_redirect(Some("uk"), Some("https://accounts.zoho.uk")),
        Err(DcError::UnknownLocation { .. })
    ));
    assert!(matches!(
        e.resolve_redirect(None, Some("https://accounts.zoho.uk")),
        Err(DcError::UnknownAccountsServer { .. })
    ));
}

#[test]
fn accepted_normalisations() {
    let e = Endpoints::zoho();
    for s in [
        "https://accounts.zoho.eu",
        "https://accounts.zoho.eu/",
        "HTTPS://ACCOUNTS.ZOHO.EU",
        "https://Accounts.Zoho.Eu/",
        "https%3A%2F%2Faccounts.zoho.eu",
        "https%3A%2F%2Faccounts.zoho.eu%2F",
        "https%3A//accounts.zoho.eu",
    ] {
        assert_eq!(e.resolve_accounts_server(s), Ok(DataCenter::Eu), "{s:?}");
    }
}

#[test]
fn hostile_accounts_servers_are_rejected() {
    let e = Endpoints::zoho();
    for s in HOSTILE_EU {
        let r = e.resolve_accounts_server(s);
        assert!(r.is_err(), "{s:?} was accepted as {r:?}");
        // Every other DC too, with the same tricks.
        for dc in DataCenter::ALL {
            let variant = s.replace("accounts.zoho.eu", dc.accounts_server().trim_start_matches("https://"));
            assert!(e.resolve_accounts_server(&variant).is_err(), "{variant:?} was accepted");
        }
    }
}

#[test]
fn http_for_a_real_zoho_host_is_insecure() {
    let e = Endpoints::zoho();
    assert_eq!(
        e.resolve_accounts_server("http://accounts.zoho.eu"),
        Err(DcError::InsecureUrl { received: "http://accounts.zoho.eu".into() })
    );
    assert_eq!(
        e.resolve_api_domain("http://www.zohoapis.eu"),
        Err(DcError::InsecureUrl { received: "http://www.zohoapis.eu".into() })
    );
}

#[test]
fn api_domain_gives_dc_and_environment() {
    let e = Endpoints::zoho();
    // The token fixtures.
    for name in ["token_authorization_code.json", "token_refresh.json"] {
        let api = fixture(name)["api_domain"].as_str().unwrap().to_owned();
        assert_eq!(e.resolve_api_domain(&api), Ok((DataCenter::Us, Environment::Production)), "{name}");
    }
    for dc in DataCenter::ALL {
        for env in Environment::ALL {
            let url = dc.api_domain(env);
            assert_eq!(e.resolve_api_domain(url), Ok((dc, env)));
            assert_eq!(e.resolve_api_domain(&format!("{url}/")), Ok((dc, env)));
            assert_eq!(DataCenter::from_api_domain(url), Ok((dc, env)));
            // An accounts server is not an API domain, and the other way round.
            assert!(e.resolve_accounts_server(url).is_err());
        }
        assert!(e.resolve_api_domain(dc.accounts_server()).is_err());
        assert!(e.resolve_api_domain(dc.file_upload_host()).is_err());
    }
    // Substring tricks that fooled "contains(sandbox)" style detection.
    for s in [
        "https://sandbox.zohoapis.eu.evil.com",
        "https://evil.com/sandbox.zohoapis.eu",
        "https://www.zohoapis.eu/crm/v2",
        "https://crmsandbox.zoho.com",
        "https://zohoapis.eu",
        "https://www.zohoapis.uk",
    ] {
        assert!(e.resolve_api_domain(s).is_err(), "{s:?}");
    }
}

#[test]
fn serverinfo_fixture() {
    let e = Endpoints::zoho();
    let info = fixture("serverinfo.json");
    let locations: BTreeMap<String, String> = serde_json::from_value(info["locations"].clone()).unwrap();
    for (code, url) in &locations {
        let r = e.resolve_server_info(&locations, code);
        if code == "uk" {
            assert!(matches!(r, Err(DcError::UnknownLocation { .. })), "{r:?}");
        } else {
            let dc = r.unwrap();
            assert_eq!(dc.location(), code);
            assert_eq!(dc.accounts_server(), url);
        }
    }
    // CN is not listed: say so, do not guess.
    let r = e.resolve_server_info(&locations, "cn");
    assert!(matches!(r, Err(DcError::NotInServerInfo { location: DataCenter::Cn, .. })), "{r:?}");
    assert!(r.unwrap_err().to_string().contains("not to list China"));
}

#[test]
fn serverinfo_answer_must_itself_be_in_the_table() {
    let e = Endpoints::zoho();
    let mut locations = BTreeMap::new();
    locations.insert("eu".to_owned(), "https://accounts.zoho.in".to_owned());
    assert_eq!(
        e.resolve_server_info(&locations, "eu"),
        Err(DcError::Mismatch { location: DataCenter::Eu, accounts_server: DataCenter::In })
    );
    locations.insert("eu".to_owned(), "https://accounts.zoho.eu.evil.com".to_owned());
    assert!(matches!(e.resolve_server_info(&locations, "eu"), Err(DcError::UnknownAccountsServer { .. })));
}

#[test]
fn errors_name_received_and_accepted_without_userinfo() {
    let e = Endpoints::zoho();
    let inputs = [
        "https://evil.com",
        "https://user:hunter2@evil.com/path?code=1000.abc#zzfragzz",
        "https://accounts.zoho.eu@evil.com",
        "https://evil.com/?accounts.zoho.eu",
        "https://evil.com#accounts.zoho.eu",
        "https%3A%2F%2Fuser%3Ahunter2%40evil.com",
        "https://accounts.zoho.eu.",
        "https://accounts.zoho.eu:8443",
        "https://accounts.zoho.eu/oauth",
        "http://accounts.zoho.eu",
        "accounts.zoho.eu",
        "https://accounts.zo\nho.eu",
    ];
    let mut messages = BTreeMap::new();
    for input in inputs {
        let err = e.resolve_accounts_server(input).unwrap_err();
        let text = err.to_string();
        let debug = format!("{err:?}");
        for leak in ["hunter2", "1000.abc", "zzfragzz"] {
            assert!(!text.contains(leak) && !debug.contains(leak), "{input:?} leaked {leak}: {text}");
        }
        messages.insert(input.escape_debug().to_string(), text);
    }
    let api = e.resolve_api_domain("https://www.zohoapis.uk").unwrap_err().to_string();
    messages.insert("api_domain https://www.zohoapis.uk".to_owned(), api);
    let mismatch = e.resolve_redirect(Some("eu"), Some("https://accounts.zoho.in")).unwrap_err().to_string();
    messages.insert("redirect eu + accounts.zoho.in".to_owned(), mismatch);
    messages.insert("redirect none".to_owned(), DcError::MissingLocation.to_string());
    insta::assert_yaml_snapshot!("resolve_error_messages", messages);
}

#[test]
fn unknown_accounts_server_lists_the_table_in_force() {
    let err = Endpoints::zoho().resolve_accounts_server("https://evil.com").unwrap_err();
    let DcError::UnknownAccountsServer { received, accepted } = &err else { panic!("{err:?}") };
    assert_eq!(received, "https://evil.com");
    assert_eq!(accepted.len(), 8);
    assert!(accepted.contains(&"https://accounts.zohocloud.ca".to_owned()));
}

// ----------------------------------------------------------------------------------------------
// Endpoints overrides
// ----------------------------------------------------------------------------------------------

/// A simulator-like table: one loopback origin per kind, a path prefix per DC (and environment).
fn sim_table() -> EndpointTable {
    EndpointTable {
        accounts: DataCenter::ALL.into_iter().map(|dc| (dc, format!("http://127.0.0.1:9001/{dc}"))).collect(),
        api: DataCenter::ALL
            .into_iter()
            .map(|dc| {
                let envs = Environment::ALL
                    .into_iter()
                    .map(|env| (env, format!("http://localhost:9002/{dc}/{env}/")))
                    .collect();
                (dc, envs)
            })
            .collect(),
    }
}

#[test]
fn simulator_table_remaps_everything() {
    let e = Endpoints::from_table(&sim_table()).unwrap();
    for dc in DataCenter::ALL {
        assert_eq!(e.accounts_server(dc), format!("http://127.0.0.1:9001/{dc}"));
        assert_eq!(e.token_url(dc), format!("http://127.0.0.1:9001/{dc}/oauth/v2/token"));
        assert_eq!(e.revoke_url(dc), format!("http://127.0.0.1:9001/{dc}/oauth/v2/token/revoke"));
        assert_eq!(e.resolve_accounts_server(e.accounts_server(dc)), Ok(dc));
        assert_eq!(e.resolve_redirect(Some(dc.location()), Some(&format!("http://127.0.0.1:9001/{dc}/"))), Ok(dc));
        // Zoho's real hosts are not part of this table: no real secret goes there by mistake.
        assert!(e.resolve_accounts_server(dc.accounts_server()).is_err());
        for env in Environment::ALL {
            assert_eq!(e.api_domain(dc, env), format!("http://localhost:9002/{dc}/{env}"));
            assert_eq!(e.resolve_api_domain(e.api_domain(dc, env)), Ok((dc, env)));
            assert!(e.resolve_api_domain(dc.api_domain(env)).is_err());
        }
    }
    // Authorization follows the US accounts server in force; CN keeps its own.
    assert_eq!(e.authorization_url_base(DataCenter::Eu), "http://127.0.0.1:9001/us/oauth/v2/auth");
    assert_eq!(e.authorization_url_base(DataCenter::Cn), "http://127.0.0.1:9001/cn/oauth/v2/auth");
    // Other paths, ports and prefixes on the same origin are rejected.
    for s in [
        "http://127.0.0.1:9001",
        "http://127.0.0.1:9001/",
        "http://127.0.0.1:9001/eu/x",
        "http://127.0.0.1:9001/EU",
        "http://127.0.0.1:9002/eu",
        "http://127.0.0.1/eu",
        "http://localhost:9001/eu",
        "https://127.0.0.1:9001/eu",
        "http://127.0.0.1:9001/eu?x",
    ] {
        assert!(e.resolve_accounts_server(s).is_err(), "{s:?}");
    }
}

#[test]
fn table_round_trips_through_json() {
    let e = Endpoints::from_table(&sim_table()).unwrap();
    let json = serde_json::to_string(&e.table()).unwrap();
    let back: EndpointTable = serde_json::from_str(&json).unwrap();
    assert_eq!(Endpoints::from_table(&back).unwrap(), e);
    assert_eq!(Endpoints::from_table(&Endpoints::zoho().table()).unwrap(), Endpoints::zoho());
    assert_eq!(Endpoints::default(), Endpoints::zoho());
}

#[test]
fn incomplete_table_lists_what_is_missing() {
    let mut t = sim_table();
    t.accounts.remove(&DataCenter::Jp);
    t.api.get_mut(&DataCenter::Sa).unwrap().remove(&Environment::Developer);
    assert_eq!(
        Endpoints::from_table(&t),
        Err(DcError::IncompleteTable { missing: vec!["accounts jp".to_owned(), "api sa developer".to_owned()] })
    );
}

#[test]
fn single_overrides() {
    let e = Endpoints::zoho()
        .with_accounts_server(DataCenter::Eu, "https://zoho-gw.corp.example/accounts/eu/")
        .unwrap()
        .with_api_domain(DataCenter::Eu, Environment::Sandbox, "https://zoho-gw.corp.example:8443/api/eu-sandbox")
        .unwrap();
    assert_eq!(e.token_url(DataCenter::Eu), "https://zoho-gw.corp.example/accounts/eu/oauth/v2/token");
    assert_eq!(e.resolve_accounts_server("https://zoho-gw.corp.example/accounts/eu"), Ok(DataCenter::Eu));
    assert_eq!(e.resolve_accounts_server("https://ZOHO-GW.corp.example/accounts/eu/"), Ok(DataCenter::Eu));
    assert!(e.resolve_accounts_server("https://zoho-gw.corp.example/ACCOUNTS/eu").is_err());
    assert!(e.resolve_accounts_server("https://accounts.zoho.eu").is_err());
    // Untouched DCs keep Zoho's hosts.
    assert_eq!(e.resolve_accounts_server("https://accounts.zoho.com"), Ok(DataCenter::Us));
    assert_eq!(
        e.resolve_api_domain("https://zoho-gw.corp.example:8443/api/eu-sandbox"),
        Ok((DataCenter::Eu, Environment::Sandbox))
    );
    assert!(e.resolve_api_domain("https://zoho-gw.corp.example/api/eu-sandbox").is_err());
    assert_eq!(e.resolve_api_domain("https://www.zohoapis.eu"), Ok((DataCenter::Eu, Environment::Production)));
}

#[test]
fn authorization_server_override() {
    let e = Endpoints::zoho().with_authorization_server("https://login.corp.example/zoho/").unwrap();
    assert_eq!(e.authorization_url_base(DataCenter::Us), "https://login.corp.example/zoho/oauth/v2/auth");
    assert_eq!(e.authorization_url_base(DataCenter::Jp), "https://login.corp.example/zoho/oauth/v2/auth");
    assert_eq!(e.authorization_url_base(DataCenter::Cn), "https://accounts.zoho.com.cn/oauth/v2/auth");
    // The token endpoint is not affected.
    assert_eq!(e.token_url(DataCenter::Us), "https://accounts.zoho.com/oauth/v2/token");
}

#[test]
fn overrides_require_https_outside_loopback() {
    let base = Endpoints::zoho();
    for ok in
        ["http://127.0.0.1:1", "http://127.8.9.10/x", "http://[::1]:8080", "http://localhost", "https://gw.example"]
    {
        assert!(base.clone().with_accounts_server(DataCenter::Eu, ok).is_ok(), "{ok}");
    }
    for insecure in
        ["http://gw.example", "http://10.0.0.1", "http://[::2]", "http://localhost.evil.com", "http://128.0.0.1"]
    {
        assert!(
            matches!(base.clone().with_accounts_server(DataCenter::Eu, insecure), Err(DcError::InsecureUrl { .. })),
            "{insecure}"
        );
        assert!(
            matches!(
                base.clone().with_api_domain(DataCenter::Eu, Environment::Production, insecure),
                Err(DcError::InsecureUrl { .. })
            ),
            "{insecure}"
        );
        let e = base.clone().allow_insecure().with_accounts_server(DataCenter::Eu, insecure).unwrap();
        assert_eq!(e.resolve_accounts_server(insecure), Ok(DataCenter::Eu));
    }
    for invalid in [
        "https://user:pw@gw.example",
        "https://gw.example/?a=b",
        "https://gw.example/#x",
        "ftp://gw.example",
        "file:///etc/passwd",
        "gw.example",
        "https://gw.example/a%20b",
        "",
    ] {
        let r = base.clone().with_accounts_server(DataCenter::Eu, invalid);
        assert!(matches!(r, Err(DcError::InvalidUrl { .. })), "{invalid:?}: {r:?}");
        assert!(!format!("{r:?}").contains("pw@"), "{r:?}");
    }
}

#[test]
fn ambiguous_overrides_are_refused() {
    let r = Endpoints::zoho().with_accounts_server(DataCenter::Us, "https://accounts.zoho.eu/");
    assert_eq!(
        r,
        Err(DcError::AmbiguousUrl {
            url: "https://accounts.zoho.eu".to_owned(),
            existing: "accounts eu".to_owned(),
            new: "accounts us".to_owned()
        })
    );
    let r = Endpoints::zoho().with_api_domain(DataCenter::Eu, Environment::Developer, "https://sandbox.zohoapis.eu");
    assert!(matches!(r, Err(DcError::AmbiguousUrl { .. })), "{r:?}");
    // Re-setting a slot to its own URL is fine.
    assert!(Endpoints::zoho().with_accounts_server(DataCenter::Eu, "https://accounts.zoho.eu").is_ok());
    // A table that maps every API slot to one host is refused.
    let mut t = sim_table();
    for envs in t.api.values_mut() {
        for url in envs.values_mut() {
            *url = "http://127.0.0.1:9002".to_owned();
        }
    }
    assert!(matches!(Endpoints::from_table(&t), Err(DcError::AmbiguousUrl { .. })));
}
