//! The guided tour: connect a user, store the token, call CRM, watch a refresh, disconnect.
//!
//! By default it runs against the bundled local Zoho simulator (no credentials, no network):
//! an EU user starts at the US accounts server, is moved to the EU server, the code is
//! exchanged there, the token is kept in an embedded SQLite file, and the simulated clock is
//! moved past expiry to show the automatic refresh.
//!
//! With `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET` (optionally `ZOHO_CLIENT_SECRET_EU`, ...) and
//! `ZOHO_REDIRECT_URI` set, it talks to real Zoho instead: it prints the authorization URL,
//! reads the URL Zoho redirected the browser to from standard input, and goes on the same way
//! (set `ZOHO_TOUR_DISCONNECT=1` to revoke the token at the end).
//!
//! ```sh
//! cargo run --features testkit --example tour
//! ```

use std::io::BufRead;
use std::time::Duration;

use futures_util::StreamExt;
use zohocrm::client::{RecordQuery, UserType};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::store::SqliteStore;
use zohocrm::testkit::{self, Decision, Simulator};
use zohocrm::{ClientCredentials, Zoho};

const SCOPES: &[&str] =
    &["ZohoCRM.users.READ", "ZohoCRM.modules.ALL", "ZohoCRM.settings.READ", "ZohoCRM.org.READ", "ZohoCRM.coql.READ"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match ClientCredentials::from_env()? {
        Some(credentials) => real_zoho(credentials).await,
        None => simulated().await,
    }
}

/// Where the tour keeps its SQLite token file.
fn store_path() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("zohocrm-tour");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("tokens-{}.sqlite3", std::process::id()))
}

async fn simulated() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "== zohocrm tour against the local Zoho simulator (set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET and ZOHO_REDIRECT_URI for real Zoho)"
    );
    let sim = Simulator::start().await?;
    println!("simulator listening on {}", sim.base_url());

    let path = store_path();
    let store = SqliteStore::open(&path).await?;
    // The simulator's endpoint table, client credentials (every DC's secret) and clock.
    let zoho = Zoho::for_simulator(&sim)?.store(store).build()?;

    // 1. Send the user to Zoho: every DC but China starts at the US accounts server.
    let (url, pending) = zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied())?;
    println!("\n1. authorization URL (starts at the US server): {}", url.split('?').next().unwrap_or_default());

    // 2. The user (an EU account) signs in and accepts; Zoho moves them to the EU server.
    let email = sim.users().into_iter().find(|u| u.dc == DataCenter::Eu).map(|u| u.email).ok_or("no EU user")?;
    let redirect = sim.consent(&url, &email, Environment::Production, Decision::Accept).await?;
    let callback = zohocrm::oauth::Callback::parse(&redirect)?;
    println!(
        "2. {email} accepted; Zoho redirected back with location={} accounts-server={}",
        callback.location().unwrap_or("?"),
        callback.accounts_server().unwrap_or("?")
    );

    // 3. Exchange the code at the EU server, store the token in SQLite.
    let token = zoho.complete_authorization("tour-user", &redirect, &pending).await?;
    println!(
        "3. code exchanged at {}; token for {} stored in {} (expires in {} s, api_domain {})",
        token.accounts_server,
        token.key,
        path.display(),
        token.remaining_ms(zohocrm::clock::Clock::now_ms(&sim.clock())) / 1000,
        token.api_domain
    );

    // 4. Call CRM.
    let crm = zoho.client(&token.key).await?;
    tour_calls(&crm).await?;

    // 5. Time passes: the token expires and the next call refreshes it, once.
    sim.advance(Duration::from_secs(3_600));
    let me = crm.current_user().await?;
    println!(
        "5. one hour later: CurrentUser is still {} — the SDK refreshed the token {} time(s) (simulator saw {} refresh request(s))",
        me.and_then(|u| u.full_name).unwrap_or_default(),
        zoho.tokens().refresh_count(),
        sim.count_grant("refresh_token"),
    );

    // 5b. CRM v8 (with `--features testkit,v8-core`): 5,000 Leads through page tokens, and COQL.
    #[cfg(feature = "v8-core")]
    {
        use futures_util::StreamExt;
        let v8 = zoho.client_v8(&token.key).await?;
        let have = v8.count("Leads").await?;
        sim.seed_records(DataCenter::Eu, Environment::Production, "Leads", 5_000usize.saturating_sub(have as usize))?;
        let mut leads = v8.records("Leads", zohocrm::client_v8::V8Query::fields(["Last_Name"]));
        let mut n = 0;
        while let Some(lead) = leads.next().await {
            lead?;
            n += 1;
        }
        let rows = v8
            .coql(
                &zohocrm::coql::Coql::select(["Last_Name", "Company"])
                    .from("Leads")
                    .filter(zohocrm::coql::Condition::like("Last_Name", "M%"))
                    .limit(5),
            )
            .await?;
        println!(
            "5b. CRM v8: streamed {n} Leads (page numbers to 2,000, then page tokens); COQL `Last_Name like 'M%'` returned {} row(s)",
            rows.items.len()
        );
    }

    // 6. Disconnect: revoke at the EU server and delete from the store.
    zoho.disconnect(&token.key).await?;
    let gone = zoho.tokens().store().get(&token.key).await?.is_none();
    println!("6. disconnected: refresh token revoked at the EU server, stored token deleted: {gone}");
    let _ = std::fs::remove_file(&path);
    println!("\ntour complete");
    Ok(())
}

async fn tour_calls(crm: &zohocrm::CrmClient) -> Result<(), Box<dyn std::error::Error>> {
    let me = crm.current_user().await?.ok_or("CurrentUser returned nothing")?;
    println!("4. CurrentUser: {} <{}>", me.full_name.as_deref().unwrap_or("?"), me.email.as_deref().unwrap_or("?"));
    let modules = crm.modules().await?;
    let names: Vec<_> = modules.iter().filter_map(|m| m.api_name.as_deref()).take(6).collect();
    println!("   {} modules: {} ...", modules.len(), names.join(", "));
    let page = crm
        .records_page(
            "Leads",
            &RecordQuery {
                per_page: Some(5),
                fields: vec!["Last_Name".into(), "Company".into()],
                ..Default::default()
            },
            1,
        )
        .await?;
    println!("   first page of Leads ({} records, more: {}):", page.items.len(), page.more_records);
    for record in &page.items {
        println!(
            "     {} {} ({})",
            record.id.as_deref().unwrap_or("?"),
            record.extra.get("Last_Name").and_then(|v| v.as_str()).unwrap_or("?"),
            record.extra.get("Company").and_then(|v| v.as_str()).unwrap_or("?"),
        );
    }
    let active = crm.users(UserType::ActiveUsers).count().await;
    println!("   active users (all pages): {active}");
    Ok(())
}

async fn real_zoho(credentials: ClientCredentials) -> Result<(), Box<dyn std::error::Error>> {
    let redirect_uri =
        std::env::var("ZOHO_REDIRECT_URI").map_err(|_| "set ZOHO_REDIRECT_URI (registered with your Zoho client)")?;
    let path = store_path();
    let zoho = Zoho::builder(credentials).store(SqliteStore::open(&path).await?).build()?;
    let (url, pending) = zoho.authorization_request(&redirect_uri, SCOPES.iter().copied())?;
    println!("Open this URL, accept, then paste the URL your browser was redirected to:\n{url}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let token = zoho.complete_authorization("tour-user", line.trim(), &pending).await?;
    println!("connected {} (api_domain {}), token stored in {}", token.key, token.api_domain, path.display());
    let crm = zoho.client(&token.key).await?;
    tour_calls(&crm).await?;
    if std::env::var_os("ZOHO_TOUR_DISCONNECT").is_some() {
        zoho.disconnect(&token.key).await?;
        println!("disconnected");
    }
    Ok(())
}
