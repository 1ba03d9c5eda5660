//! A newcomer's first hour with zohocrm, end to end against the bundled Zoho simulator:
//! connect a JP user and a US user, stream Leads, write and search records, let two hours pass,
//! handle the errors a real app meets, and disconnect. Written only against the public API as
//! the rendered docs show it.
//!
//! ```sh
//! cargo run --features testkit,sqlite --example first_hour
//! ```

use std::time::Duration;

use futures_util::StreamExt;
use zohocrm::client::{Criteria, Record, RecordQuery, Search};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::scopes::Scopes;
use zohocrm::store::SqliteStore;
use zohocrm::testkit::{Decision, Simulator};
use zohocrm::{Error, Zoho};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A local Zoho: Accounts and CRM of every data center, on loopback.
    let sim = Simulator::start().await?;
    let dir = std::env::temp_dir().join(format!("zohocrm-first-hour-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let zoho = Zoho::for_simulator(&sim)?.store(SqliteStore::open(dir.join("tokens.sqlite3")).await?).build()?;
    let redirect_uri = zohocrm::testkit::DEFAULT_REDIRECT_URI;

    // 1. Connect two users who live in different data centers. Both start at accounts.zoho.com;
    //    Zoho moves each to their own DC and the SDK follows.
    for (app_user, dc) in [("akira", DataCenter::Jp), ("patricia", DataCenter::Us)] {
        let email = sim.users().into_iter().find(|u| u.dc == dc).map(|u| u.email).ok_or("no seeded user")?;
        let (url, pending) = zoho.authorization_request(redirect_uri, Scopes::FULL_CRM)?;
        let redirect = sim.consent(&url, &email, Environment::Production, Decision::Accept).await?;
        let token = zoho.complete_authorization(app_user, &redirect, &pending).await?;
        println!("connected {app_user} ({email}) in {} / {}", token.key.dc.name(), token.key.environment);
    }

    // 2. Later requests only know the app's user: find the connection, get a client.
    let us = zoho.client_for("patricia").await?;
    let jp = zoho.client_for("akira").await?;
    let me = jp.current_user().await?.ok_or("no current user")?;
    println!("akira is {:?} at {}", me.full_name, jp.api_domain());

    // 3. Stream every Lead (page after page, no Box::pin needed).
    let query = RecordQuery { fields: vec!["Last_Name".into(), "Company".into()], ..Default::default() };
    let mut leads = us.records("Leads", query);
    let mut count = 0;
    while let Some(lead) = leads.next().await {
        let lead = lead?;
        count += 1;
        if count == 1 {
            println!("first lead: {:?} at {:?}", lead.get_str("Last_Name"), lead.get_str("Company"));
        }
    }
    println!("patricia's org has {count} leads");

    // 4. Write: a new lead, then one that Zoho refuses (a mandatory field is missing).
    let created = us
        .insert_records("Leads", vec![Record::new().set("Last_Name", "Okafor").set("Company", "Zylker (EU), Ltd")])
        .await?;
    let id = created[0].id().ok_or("no id")?.to_owned();
    println!("inserted lead {id}: {}", created[0].code());
    let refused = us.insert_records("Leads", vec![Record::new().set("Company", "No Name Inc")]).await?;
    assert!(!refused[0].is_success());
    println!("Zoho refused the second lead: {} {} ({:?})", refused[0].code(), refused[0].message(), refused[0].field());

    // 5. Search: values are escaped for Zoho's criteria syntax.
    let found =
        us.search_page("Leads", &Search::Criteria(Criteria::equals("Company", "Zylker (EU), Ltd")), 1, 10).await?;
    println!("search found {} lead(s) at \"Zylker (EU), Ltd\"", found.items.len());

    // 6. Two hours pass: tokens expire and refresh by themselves, once per connection.
    sim.advance(Duration::from_secs(2 * 3600));
    let org = us.org().await?.ok_or("no org")?;
    println!("two hours later, still working: org {:?}", org.company_name);
    println!("token refreshes so far: {}", zoho.tokens().refresh_count());

    // 7. Errors a real app meets, each typed.
    match us.record("Leads", "..").await {
        Err(Error::InvalidInput { parameter, .. }) => println!("refused before sending: bad {parameter}"),
        other => return Err(format!("expected InvalidInput, got {other:?}").into()),
    }
    match us.records_page("NoSuchModule", &RecordQuery::default(), 1).await {
        Err(e @ Error::Api { .. }) => println!("Zoho said: {}", e.zoho_code().unwrap_or_default()),
        other => return Err(format!("expected an API error, got {other:?}").into()),
    }
    let jp_key = jp.key().clone();
    sim.revoke_refresh_token_out_of_band(
        zoho.tokens().token(&jp_key).await?.refresh_token.as_ref().ok_or("no refresh token")?,
    );
    sim.advance(Duration::from_secs(3600));
    match jp.org().await {
        Err(Error::ReauthorizationRequired { .. }) => {
            println!("akira revoked the app in Zoho: ask them to connect again")
        }
        other => return Err(format!("expected ReauthorizationRequired, got {other:?}").into()),
    }

    // 8. Disconnect: revoke at the user's DC and forget the token.
    zoho.disconnect(us.key()).await?;
    zoho.disconnect(&jp_key).await?;
    println!("disconnected; connections left: {}", zoho.connections("patricia").await?.len());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
