//! Client credentials: one client id, per-DC secrets, Multi-DC enablement, env loading, redaction.

use zohocrm::credentials::ClientCredentials;
use zohocrm::dc::{DataCenter, DcError};

#[test]
fn shared_secret_serves_every_dc() {
    let c = ClientCredentials::new("1000.CLIENT", "s3cr3t-shared");
    assert_eq!(c.client_id(), "1000.CLIENT");
    for dc in DataCenter::ALL {
        assert_eq!(c.secret_for(dc).unwrap().expose(), "s3cr3t-shared");
        assert!(!c.has_dc_secret(dc));
    }
    assert_eq!(c.enabled_dcs(), DataCenter::ALL.to_vec());
}

#[test]
fn per_dc_secret_overrides_the_shared_one() {
    let c = ClientCredentials::new("1000.CLIENT", "s3cr3t-shared")
        .with_dc_secret(DataCenter::Eu, "s3cr3t-eu")
        .with_dc_secret(DataCenter::Cn, "s3cr3t-cn");
    assert_eq!(c.secret_for(DataCenter::Eu).unwrap().expose(), "s3cr3t-eu");
    assert_eq!(c.secret_for(DataCenter::Cn).unwrap().expose(), "s3cr3t-cn");
    assert_eq!(c.secret_for(DataCenter::Us).unwrap().expose(), "s3cr3t-shared");
    assert!(c.has_dc_secret(DataCenter::Eu) && !c.has_dc_secret(DataCenter::Us));
}

#[test]
fn only_enabled_dcs_get_a_secret() {
    let c = ClientCredentials::new("1000.CLIENT", "s3cr3t-shared")
        .with_dc_secret(DataCenter::Jp, "s3cr3t-jp")
        .only_dcs(&[DataCenter::Us, DataCenter::Eu]);
    assert!(c.secret_for(DataCenter::Us).is_ok());
    assert!(c.secret_for(DataCenter::Eu).is_ok());
    // A DC-specific secret does not enable a DC that only_dcs excluded.
    let err = c.secret_for(DataCenter::Jp).unwrap_err();
    assert_eq!(err, DcError::NotEnabled { dc: DataCenter::Jp, enabled: vec![DataCenter::Us, DataCenter::Eu] });
    let text = err.to_string();
    assert!(text.contains("not enabled for data center jp (Japan)"), "{text}");
    assert!(text.contains("enabled: us, eu"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert_eq!(c.enabled_dcs(), vec![DataCenter::Us, DataCenter::Eu]);
}

#[test]
fn debug_never_shows_a_secret() {
    let c = ClientCredentials::new("1000.CLIENT", "s3cr3t-shared")
        .with_dc_secret(DataCenter::Eu, "s3cr3t-eu")
        .only_dcs(&[DataCenter::Us, DataCenter::Eu, DataCenter::In]);
    let debug = format!("{c:?}");
    let pretty = format!("{c:#?}");
    for shown in [&debug, &pretty] {
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
    assert_eq!(
        debug,
        r#"ClientCredentials { client_id: "1000.CLIENT", shared_secret: true, own_secret: ["eu"], enabled: ["us", "eu", "in"] }"#
    );
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn from_vars_reads_id_shared_and_per_dc_secrets() {
    let c = ClientCredentials::from_vars(vars(&[
        ("PATH", "/usr/bin"),
        ("ZOHO_CLIENT_ID", "1000.CLIENT"),
        ("ZOHO_CLIENT_SECRET", "s3cr3t-shared"),
        ("ZOHO_CLIENT_SECRET_EU", "s3cr3t-eu"),
        ("ZOHO_CLIENT_SECRET_ca", "s3cr3t-ca"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(c.client_id(), "1000.CLIENT");
    assert_eq!(c.secret_for(DataCenter::Eu).unwrap().expose(), "s3cr3t-eu");
    assert_eq!(c.secret_for(DataCenter::Ca).unwrap().expose(), "s3cr3t-ca");
    assert_eq!(c.secret_for(DataCenter::Sa).unwrap().expose(), "s3cr3t-shared");
}

#[test]
fn from_vars_without_client_id_is_none() {
    assert!(ClientCredentials::from_vars(vars(&[("ZOHO_CLIENT_SECRET", "x")])).unwrap().is_none());
    assert!(ClientCredentials::from_vars(Vec::<(String, String)>::new()).unwrap().is_none());
}

#[test]
fn from_vars_with_only_per_dc_secrets_enables_only_those() {
    let c = ClientCredentials::from_vars(vars(&[
        ("ZOHO_CLIENT_ID", "1000.CLIENT"),
        ("ZOHO_CLIENT_SECRET_EU", "s3cr3t-eu"),
        ("ZOHO_CLIENT_SECRET_IN", "s3cr3t-in"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(c.enabled_dcs(), vec![DataCenter::Eu, DataCenter::In]);
    assert!(matches!(c.secret_for(DataCenter::Us), Err(DcError::NotEnabled { .. })));
}

#[test]
fn from_vars_errors_name_the_variable_never_the_value() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("ZOHO_CLIENT_ID", "1000.CLIENT")], "ZOHO_CLIENT_SECRET"),
        (&[("ZOHO_CLIENT_ID", "1000.CLIENT"), ("ZOHO_CLIENT_SECRET", " ")], "ZOHO_CLIENT_SECRET"),
        (
            &[
                ("ZOHO_CLIENT_ID", "1000.CLIENT"),
                ("ZOHO_CLIENT_SECRET", "s3cr3t"),
                ("ZOHO_CLIENT_SECRET_UK", "s3cr3t-uk"),
            ],
            "ZOHO_CLIENT_SECRET_UK",
        ),
        (&[("ZOHO_CLIENT_ID", ""), ("ZOHO_CLIENT_SECRET", "s3cr3t")], "ZOHO_CLIENT_ID"),
    ];
    for (input, var) in cases {
        let err = ClientCredentials::from_vars(vars(input)).unwrap_err();
        let DcError::InvalidEnv { var: got, .. } = &err else { panic!("{err:?}") };
        assert_eq!(got, var);
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
    }
    let uk = ClientCredentials::from_vars(vars(&[
        ("ZOHO_CLIENT_ID", "1000.CLIENT"),
        ("ZOHO_CLIENT_SECRET_UK", "s3cr3t-uk"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(uk.contains("accepted: us, eu, in, au, cn, jp, ca, sa"), "{uk}");
}

#[cfg(unix)]
#[test]
fn from_vars_rejects_non_unicode_values() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let bad = OsString::from_vec(vec![0x73, 0xff, 0x65]);
    let err = ClientCredentials::from_vars(vec![
        (OsString::from("ZOHO_CLIENT_ID"), OsString::from("1000.CLIENT")),
        (OsString::from("ZOHO_CLIENT_SECRET"), bad),
    ])
    .unwrap_err();
    assert!(matches!(err, DcError::InvalidEnv { ref var, .. } if var == "ZOHO_CLIENT_SECRET"), "{err:?}");
}
