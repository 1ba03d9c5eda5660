//! Importing tokens from Zoho's SDK stores: FileStore CSV (both headers, as Python's
//! `csv.writer` writes them) and DBStore `oauthtoken` tables in SQLite and PostgreSQL. The
//! client secret (and client id, grant token, redirect URI) must never reach our store.

mod store_support;

use store_support::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::store::{ImportOptions, ImportReport, StoreError, import_zoho_filestore, import_zoho_rows};

/// Written by Python 3's `csv.writer(f, quotechar='"', quoting=csv.QUOTE_MINIMAL)` with the
/// SDK 2.1 FileStore header (CRLF line ends, the secret and a redirect URI needing quotes).
const FILESTORE_21: &str = "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri\r\n\
python_ann_us_prd_7f3a,ann@example.com,1000.CLIENTID21,\"sec,ret\"\"21\",1000.refresh.ann,1000.access.ann,,1700000360000,\"https://app.example.com/cb?a=1,b=2\"\r\n\
python_bob_us_prd_99aa,bob@example.com,1000.CLIENTID21,\"sec,ret\"\"21\",,,1000.grant.bob,,\r\n\
python_cy_us_prd_1234,cy@example.com,1000.CLIENTID21,\"sec,ret\"\"21\",1000.refresh.cy,,,,\r\n";

/// The same writer with the SDK 8.0 header: api_domains in three DCs, a quoted user name, a
/// later row for the same user, a migrated 2.1 row (empty api_domain), a row with no user.
const FILESTORE_80: &str = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n\
1,ann@example.com,1000.CLIENTID80,\"s3cr\"\"et,80\",1000.refresh.ann.eu,1000.access.ann.eu,,1700000360000,https://app.example.com/cb,https://sandbox.zohoapis.eu\r\n\
2,\"Dee \"\"D\"\" Smith, Jr.\",1000.CLIENTID80,\"s3cr\"\"et,80\",1000.refresh.dee,1000.access.dee,,1700000999000,,https://developer.zohoapis.com.au\r\n\
3,ann@example.com,1000.CLIENTID80,\"s3cr\"\"et,80\",1000.refresh.ann.eu.v2,1000.access.ann.eu.v2,,1700000720000,https://app.example.com/cb,https://sandbox.zohoapis.eu\r\n\
4,old@example.com,1000.CLIENTID80,\"s3cr\"\"et,80\",1000.refresh.old,,,,,\r\n\
5,,1000.CLIENTID80,\"s3cr\"\"et,80\",1000.refresh.cn,1000.access.cn,,1700000000000,,https://www.zohoapis.com.cn\r\n";

const NOW: i64 = 1_700_000_000_000;

fn summary(report: &ImportReport) -> serde_json::Value {
    serde_json::json!({
        "tokens": report.tokens.iter().map(|t| serde_json::json!({
            "key": t.key.to_string(),
            "access_token": t.access_token.as_ref().map(|s| s.expose()),
            "refresh_token": t.refresh_token.as_ref().map(|s| s.expose()),
            "expires_at_ms": t.expires_at_ms,
            "api_domain": t.api_domain,
            "accounts_server": t.accounts_server,
            "scopes": t.scopes,
            "created_at_ms": t.created_at_ms,
            "updated_at_ms": t.updated_at_ms,
        })).collect::<Vec<_>>(),
        "skipped": report.skipped,
    })
}

/// Nothing but tokens and their metadata was imported: no client id, secret, grant token or
/// redirect URI anywhere in the result.
fn assert_no_client_credentials(report: &ImportReport) {
    let all = format!("{} {report:?}", summary(report));
    for forbidden in ["CLIENTID", "sec,ret", "s3cr", "grant.bob", "app.example.com"] {
        assert!(!all.contains(forbidden), "{forbidden:?} was imported: {all}");
    }
}

#[test]
fn filestore_21_header_imports_with_a_default_location() {
    let options = ImportOptions::new(NOW).default_location(DataCenter::Us, Environment::Production);
    let report = import_zoho_filestore(FILESTORE_21, &options).unwrap();
    assert_no_client_credentials(&report);
    assert_eq!(report.tokens.len(), 2);
    assert_eq!(report.skipped.len(), 1);
    insta::assert_json_snapshot!("filestore_21", summary(&report));
}

#[test]
fn filestore_80_header_takes_dc_and_environment_from_api_domain() {
    let options = ImportOptions::new(NOW)
        .default_location(DataCenter::In, Environment::Production)
        .scopes(["ZohoCRM.modules.ALL"]);
    let report = import_zoho_filestore(FILESTORE_80, &options).unwrap();
    assert_no_client_credentials(&report);
    let keys: Vec<String> = report.tokens.iter().map(|t| t.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "Dee \"D\" Smith, Jr.@au/developer",
            "ann@example.com@eu/sandbox",
            "old@example.com@in/production",
            "5@cn/production"
        ]
    );
    insta::assert_json_snapshot!("filestore_80", summary(&report));

    // Without a default the migrated 2.1 row (line 5) cannot be placed.
    let err = import_zoho_filestore(FILESTORE_80, &ImportOptions::new(NOW)).unwrap_err();
    assert!(matches!(err, StoreError::Import { line: 5, .. }), "{err}");
}

#[test]
fn lf_line_ends_bom_and_blank_lines_are_accepted() {
    let text = format!("\u{feff}{}\n\n", FILESTORE_80.replace("\r\n", "\n"));
    let options = ImportOptions::new(NOW).default_location(DataCenter::In, Environment::Production);
    let a = import_zoho_filestore(&text, &options).unwrap();
    let b = import_zoho_filestore(FILESTORE_80, &options).unwrap();
    assert_eq!(summary(&a), summary(&b));
}

#[test]
fn unknown_api_domain_needs_a_resolver() {
    let csv = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\n\
               1,u@example.com,c,s,1000.r,1000.a,,1,,https://www.zohoapis.uk\n";
    let err = import_zoho_filestore(csv, &ImportOptions::new(NOW)).unwrap_err();
    assert!(matches!(err, StoreError::Import { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("zohoapis.uk"), "{err}");
    let resolve = |domain: &str| domain.ends_with(".uk").then_some((DataCenter::Eu, Environment::Production));
    let report = import_zoho_filestore(csv, &ImportOptions::new(NOW).resolve_api_domain(&resolve)).unwrap();
    assert_eq!(report.tokens[0].key.to_string(), "u@example.com@eu/production");
    assert_eq!(report.tokens[0].api_domain, "https://www.zohoapis.uk");
}

#[test]
fn malformed_files_are_errors_with_the_line() {
    let h21 = "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri";
    let options = ImportOptions::new(NOW).default_location(DataCenter::Us, Environment::Production);
    let cases = [
        ("empty", String::new()),
        ("not a token file", "name,email\nann,ann@example.com\n".to_owned()),
        ("short row", format!("{h21}\r\n1,ann,c,s,r,a,g,1\r\n")),
        ("unclosed quote", format!("{h21}\r\n1,ann,c,\"s3cret,r,a,,1,u\r\n")),
        ("text after a quote", format!("{h21}\r\n1,ann,c,\"s\"x,r,a,,1,u\r\n")),
        ("bad expiry", format!("{h21}\r\n1,ann,c,s,r,a,,soon,u\r\n2,bob,c,s,r,a,,12.5,u\r\n")),
    ];
    let mut messages = Vec::new();
    for (name, text) in &cases {
        let err = import_zoho_filestore(text, &options).unwrap_err();
        assert!(matches!(err, StoreError::Import { .. }), "{name}: {err}");
        let message = err.to_string();
        assert!(!message.contains("s3cret"), "{name}: secret in error: {message}");
        messages.push(format!("{name}: {message}"));
    }
    insta::assert_yaml_snapshot!("import_errors", messages);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use zohocrm::store::{SqliteStore, TokenStore};

    #[tokio::test]
    async fn imported_tokens_land_in_the_store_without_the_client_secret() {
        let options = ImportOptions::new(NOW).default_location(DataCenter::In, Environment::Production);
        let report = import_zoho_filestore(FILESTORE_80, &options).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.sqlite3");
        let store = SqliteStore::open(&path).await.unwrap();
        for t in &report.tokens {
            store.put(t).await.unwrap();
        }
        let ann = report.tokens.iter().find(|t| t.key.user == "ann@example.com").unwrap();
        let got = store.get(&ann.key).await.unwrap().unwrap();
        assert_eq!((access(&got), refresh(&got)), ("1000.access.ann.eu.v2", "1000.refresh.ann.eu.v2"));
        drop(store);
        for suffix in ["", "-wal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let bytes = std::fs::read(&p).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("s3cr") && !text.contains("CLIENTID"), "client credentials in {p:?}");
        }
    }

    fn dbstore(columns_80: bool) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zohooauth.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        if columns_80 {
            conn.execute_batch(
                "CREATE TABLE oauthtoken (id varchar(10) PRIMARY KEY, user_name varchar(255), client_id varchar(255),
                   client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
                   grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255));
                 INSERT INTO oauthtoken VALUES ('1', 'ann@example.com', '1000.CLIENTID', 's3cret', '1000.r.ann', '1000.a.ann', NULL, '1700000360000', NULL, 'https://www.zohoapis.jp');
                 INSERT INTO oauthtoken VALUES ('2', 'bob@example.com', '1000.CLIENTID', 's3cret', NULL, NULL, '1000.grant', NULL, NULL, NULL);",
            )
            .unwrap();
        } else {
            conn.execute_batch(
                "CREATE TABLE oauthtoken (id varchar(255) PRIMARY KEY, user_mail varchar(255) NOT NULL, client_id varchar(255),
                   client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
                   grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255));
                 INSERT INTO oauthtoken VALUES ('python_ann_eu_prd_abcd', 'ann@example.com', '1000.CLIENTID', 's3cret', '1000.r.ann', '', '', 1700000360000, '');",
            )
            .unwrap();
        }
        (dir, path)
    }

    #[tokio::test]
    async fn dbstore_tables_of_both_sdk_versions_import() {
        let (_d80, p80) = dbstore(true);
        let rows = SqliteStore::read_zoho_dbstore(&p80, "oauthtoken").await.unwrap();
        let report = import_zoho_rows(rows, &ImportOptions::new(NOW)).unwrap();
        assert_no_client_credentials(&report);
        assert_eq!(report.tokens.len(), 1);
        assert_eq!(report.tokens[0].key.to_string(), "ann@example.com@jp/production");
        assert_eq!(report.tokens[0].expires_at_ms, 1_700_000_360_000);
        assert_eq!(report.skipped.len(), 1);

        let (_d21, p21) = dbstore(false);
        let rows = SqliteStore::read_zoho_dbstore(&p21, "oauthtoken").await.unwrap();
        let options = ImportOptions::new(NOW).default_location(DataCenter::Eu, Environment::Production);
        let report = import_zoho_rows(rows, &options).unwrap();
        let t = &report.tokens[0];
        assert_eq!(t.key.to_string(), "ann@example.com@eu/production");
        assert!(t.access_token.is_none(), "an empty access token is None");
        assert_eq!((refresh(t), t.expires_at_ms), ("1000.r.ann", 1_700_000_360_000)); // integer expiry read as text
        assert_eq!(t.accounts_server, "https://accounts.zoho.eu");

        let err = SqliteStore::read_zoho_dbstore(&p21, "no_such_table").await.unwrap_err();
        assert!(matches!(err, StoreError::Import { .. }), "{err}");
        let err = SqliteStore::read_zoho_dbstore(&p21, "oauthtoken; --").await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidIdentifier { .. }), "{err}");
    }
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn dbstore_table_in_postgres_imports() {
    use store_support::pg::TestSchema;
    use zohocrm::store::PostgresStore;
    let Some(schema) = TestSchema::new("dbstore").await else {
        return;
    };
    let store = PostgresStore::connect(&schema.conn_str, &schema.name).await.unwrap();
    let client = schema.client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE \"{s}\".oauthtoken (id varchar(10) PRIMARY KEY, user_name varchar(255), client_id varchar(255),
               client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
               grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255));
             INSERT INTO \"{s}\".oauthtoken VALUES
               ('1', 'ann@example.com', '1000.CLIENTID', 's3cret', '1000.r.ann', '1000.a.ann', NULL, '1700000360000', NULL, 'https://sandbox.zohoapis.ca'),
               ('2', 'bob@example.com', '1000.CLIENTID', 's3cret', '1000.r.bob', NULL, NULL, '', NULL, 'https://www.zohoapis.sa');",
            s = schema.name
        ))
        .await
        .unwrap();
    let rows = store.read_zoho_dbstore(&schema.name, "oauthtoken").await.unwrap();
    let report = import_zoho_rows(rows, &ImportOptions::new(NOW)).unwrap();
    assert_no_client_credentials(&report);
    let keys: Vec<String> = report.tokens.iter().map(|t| t.key.to_string()).collect();
    assert_eq!(keys, ["ann@example.com@ca/sandbox", "bob@example.com@sa/production"]);
    assert_eq!(report.tokens[0].accounts_server, "https://accounts.zohocloud.ca");
    let err = store.read_zoho_dbstore(&schema.name, "missing").await.unwrap_err();
    assert!(matches!(err, StoreError::Import { .. }), "{err}");
}

/// Zoho's SDK files often hold `www.zohoapis.eu` without a scheme; `Zoho::client` only accepts
/// `https://host`, so the import normalizes it, and a value that is no host at all is skipped
/// with a reason (the other rows still import).
#[test]
fn schemeless_api_domains_are_normalized_and_garbage_is_skipped() {
    let csv = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\n\
               1,a@example.com,c,s,1000.r.a,1000.a.a,,1,,www.zohoapis.eu\n\
               2,b@example.com,c,s,1000.r.b,1000.a.b,,1,,SANDBOX.ZohoAPIs.com/\n\
               3,c@example.com,c,s,1000.r.c,1000.a.c,,1,,https://www.zohoapis.in/crm/v2?x=1\n\
               4,d@example.com,c,s,1000.r.d,1000.a.d,,1,,www.zohoapis.eu evil\n\
               5,e@example.com,c,s,1000.r.e,1000.a.e,,1,,https://user@www.zohoapis.com\n";
    let report = import_zoho_filestore(csv, &ImportOptions::new(NOW)).unwrap();
    let got: Vec<(String, &str)> = report.tokens.iter().map(|t| (t.key.to_string(), t.api_domain.as_str())).collect();
    assert_eq!(
        got,
        [
            ("a@example.com@eu/production".to_owned(), "https://www.zohoapis.eu"),
            ("b@example.com@us/sandbox".to_owned(), "https://sandbox.zohoapis.com"),
        ]
    );
    let skipped: Vec<usize> = report.skipped.iter().map(|s| s.line).collect();
    assert_eq!(skipped, [4, 5, 6]);
    for s in &report.skipped {
        assert!(s.reason.contains("api_domain"), "{s:?}");
    }
    // Every stored api_domain is accepted by the endpoint table the client uses.
    for t in &report.tokens {
        zohocrm::dc::Endpoints::zoho().resolve_api_domain(&t.api_domain).unwrap();
    }
}
