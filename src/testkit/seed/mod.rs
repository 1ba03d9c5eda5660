//! The simulator's seeded world: the initial state, the orgs (built on first use), their users,
//! metadata and records, and generated records on demand.
//!
//! `data` holds the seed data only; `payloads` builds Zoho-shaped JSON from it; this module
//! builds the world. Seeding sits above `state` (it fills the state's types) and below the
//! shared simulator and the handlers.

mod data;
mod payloads;

use serde_json::{Map, Value, json};

use crate::dc::{DataCenter, Environment};

use super::state::{Account, CrmUser, Org, OrgModule, Rec, SeedCounts, State, derive_fields};
use super::time::format_iso;
use super::types::{SimConfig, SimUser, default_client};
use data::{
    ACCOUNT_NAMES, ACCOUNT_TYPE, CITIES, FIRST_NAMES, INDUSTRY, LAST_NAMES, LEAD_SOURCE, LEAD_STATUS, MODULES,
    PROFILES, ROLES, SALUTATION, STAGE, US_CRM_USERS,
};
use payloads::{LayoutParts, OrgProfile, UserFields, field_json, layout_json, module_json, org_json, user_json};

/// The seeded Zoho Accounts users: (email, first name, last name, data center).
/// The first US entries also have CRM details in [`US_CRM_USERS`].
pub(crate) fn seeded_accounts() -> Vec<Account> {
    let mut out = Vec::new();
    let mut zuid = 694_579_958u64;
    let mut push = |email: &str, first: &str, last: &str, dc: DataCenter| {
        out.push(Account {
            email: email.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            zuid: zuid.to_string(),
            dc,
        });
        zuid += 1_117;
    };
    for (email, first, last) in US_CRM_USERS.iter().map(|u| (u.email, u.first, u.last)) {
        push(email, first, last, DataCenter::Us);
    }
    for dc in DataCenter::ALL {
        if dc != DataCenter::Us {
            let loc = dc.location();
            push(&format!("{loc}.user@zylker.example"), &loc.to_uppercase(), "User", dc);
        }
    }
    out
}

/// Time-zone name and offset (seconds east of UTC) of a data center's seeded org.
pub(crate) fn dc_zone(dc: DataCenter) -> (&'static str, i32) {
    match dc {
        DataCenter::Us => ("America/Phoenix", -7 * 3600),
        DataCenter::Eu => ("Europe/Berlin", 3600),
        DataCenter::In => ("Asia/Kolkata", 19_800),
        DataCenter::Au => ("Australia/Brisbane", 10 * 3600),
        DataCenter::Cn => ("Asia/Shanghai", 8 * 3600),
        DataCenter::Jp => ("Asia/Tokyo", 9 * 3600),
        DataCenter::Ca => ("America/Regina", -6 * 3600),
        DataCenter::Sa => ("Asia/Riyadh", 3 * 3600),
    }
}

fn dc_country(dc: DataCenter) -> (&'static str, &'static str, &'static str) {
    // (country code, currency, currency symbol)
    match dc {
        DataCenter::Us => ("US", "USD", "$"),
        DataCenter::Eu => ("DE", "EUR", "€"),
        DataCenter::In => ("IN", "INR", "Rs."),
        DataCenter::Au => ("AU", "AUD", "A$"),
        DataCenter::Cn => ("CN", "CNY", "¥"),
        DataCenter::Jp => ("JP", "JPY", "¥"),
        DataCenter::Ca => ("CA", "CAD", "C$"),
        DataCenter::Sa => ("SA", "SAR", "SR"),
    }
}

/// The CRM user id of the `index`-th account in the org of `dc` and `env` (stable, so it is known
/// before the org is seeded).
pub(crate) fn user_id(dc: DataCenter, env: Environment, index: usize) -> String {
    format!("{}{:012}", id_prefix(dc, env), 900_000 + index)
}

fn id_prefix(dc: DataCenter, env: Environment) -> u64 {
    let d = DataCenter::ALL.iter().position(|x| *x == dc).unwrap_or(0) as u64;
    let e = Environment::ALL.iter().position(|x| *x == env).unwrap_or(0) as u64;
    if d == 0 && e == 0 { 3_652_397 } else { 4_150_868 + d * 10 + e }
}

/// Builds one org: its users, metadata and records. `start_s` is the clock's start; seeded data
/// is older than it.
pub(crate) fn build_org(
    dc: DataCenter,
    env: Environment,
    accounts: &[Account],
    start_s: i64,
    counts: SeedCounts,
) -> Org {
    let (tz, offset) = dc_zone(dc);
    let prefix = id_prefix(dc, env);
    let (country, currency, symbol) = dc_country(dc);
    let base_s = start_s - 90 * 86_400;
    let mut org = Org::new(dc, prefix, offset, tz, symbol);
    org.metadata_modified_s = base_s;
    let company = if dc == DataCenter::Us && env == Environment::Production {
        "Zylker".to_owned()
    } else {
        format!("Zylker {} {}", dc.location().to_uppercase(), env.as_str())
    };
    for (name, suffix) in ROLES {
        org.roles.push(((*name).to_owned(), format!("{prefix}{:012}", suffix)));
    }
    for (name, suffix) in PROFILES {
        org.profiles.push(((*name).to_owned(), format!("{prefix}{:012}", suffix)));
    }

    // Users: the US org has the full cast, every other org its data center's users.
    type Member<'a> = (usize, &'a Account, &'static str, &'static str, &'static str, bool, &'static [&'static str]);
    let members: Vec<Member<'_>> = accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.dc == dc)
        .map(|(i, a)| match US_CRM_USERS.iter().find(|u| u.email == a.email) {
            Some(u) => (i, a, u.role, u.profile, u.status, u.confirm, u.denied_modules),
            None => (i, a, "CEO", "Administrator", "active", true, &[][..]),
        })
        .collect();
    let mut admin: Option<(String, String)> = None;
    for (index, account, role, profile, status, confirm, denied) in members {
        let id = user_id(dc, env, index);
        let creator =
            admin.clone().unwrap_or_else(|| (format!("{} {}", account.first_name, account.last_name), id.clone()));
        let role_ref = org.role_ref(role);
        let profile_ref = org.profile_ref(profile);
        let mut user = user_json(&UserFields {
            id: &id,
            email: &account.email,
            first: &account.first_name,
            last: &account.last_name,
            zuid: Some(&account.zuid),
            role: role_ref,
            profile: profile_ref,
            status,
            confirm,
            country,
            currency,
            time_zone: tz,
            offset_secs: offset,
            created: &format_iso(base_s, offset),
            creator: &creator,
        });
        if status == "active" && profile == "Administrator" && admin.is_none() {
            admin = Some((format!("{} {}", account.first_name, account.last_name), id.clone()));
            user.insert("Isonline".into(), Value::Bool(true));
        }
        org.users.push(CrmUser {
            id,
            email: account.email.clone(),
            modified_s: base_s,
            json: user,
            denied_modules: denied.iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    let owner = admin.unwrap_or_else(|| ("Zylker Admin".to_owned(), format!("{prefix}000000000001")));
    org.owner = owner.clone();
    org.company = company.clone();
    org.org_json = org_json(
        &org,
        &OrgProfile {
            company: &company,
            country,
            currency,
            symbol,
            time_zone: tz,
            primary_zuid: accounts.iter().find(|a| a.dc == dc).map(|a| a.zuid.as_str()),
        },
    );

    // Metadata.
    for def in MODULES {
        let id = org.new_id();
        let fields: Vec<Value> =
            def.fields.iter().enumerate().map(|(i, fd)| field_json(fd, &format!("{id}{:03}", i + 1))).collect();
        let module_modified = if def.api_supported { Some(format_iso(base_s, offset)) } else { None };
        let json = module_json(def, &id, module_modified.as_deref(), &owner, &org.profiles);
        let layout = layout_json(&LayoutParts {
            def,
            id: &format!("{id}900"),
            fields: &fields,
            owner: &owner,
            profiles: &org.profiles,
            time: &format_iso(base_s, offset),
        });
        org.modules.push(OrgModule { def, json, fields, layouts: vec![layout] });
    }

    // Records.
    let tag = if dc == DataCenter::Us && env == Environment::Production {
        String::new()
    } else {
        format!(" ({} {})", dc.location().to_uppercase(), env.as_str())
    };
    let mut t = base_s;
    let mut accounts_made: Vec<(String, String)> = Vec::new();
    for i in 0..counts.accounts {
        t += 600;
        let mut r = org.blank_record("Accounts");
        let name = format!("{}{}{tag}", ACCOUNT_NAMES[i % ACCOUNT_NAMES.len()], suffix_n(i, ACCOUNT_NAMES.len()));
        set(&mut r, "Account_Name", json!(name));
        set(&mut r, "Phone", json!(format!("555-010-{:04}", i)));
        set(&mut r, "Website", json!(format!("www.{}.example", slug(&name))));
        set(&mut r, "Industry", json!(INDUSTRY[1 + i % (INDUSTRY.len() - 1)]));
        set(&mut r, "Account_Type", json!(ACCOUNT_TYPE[1 + i % (ACCOUNT_TYPE.len() - 1)]));
        set(&mut r, "Employees", json!(10 + i * 7));
        set(&mut r, "Annual_Revenue", json!(100_000 + i as i64 * 25_000));
        set(&mut r, "Billing_City", json!(CITIES[i % CITIES.len()].0));
        set(&mut r, "Billing_State", json!(CITIES[i % CITIES.len()].1));
        set(&mut r, "Billing_Country", json!(country));
        let rec = finish_seed_record(&mut org, "Accounts", r, t, &owner);
        accounts_made.push((name, rec.id.clone()));
        org.push_record("Accounts", rec);
    }
    for i in 0..counts.leads {
        t += 600;
        let mut r = org.blank_record("Leads");
        if i == 0 && tag.is_empty() {
            // Zoho's own search-records sample (records_leads_search.json), comma and all.
            for (k, v) in [
                ("Company", json!("Company")),
                ("Email", json!("burns.mary@xyz.com")),
                ("Industry", json!("ERP")),
                ("Street", json!("4 B Blue Ridge Blvd")),
                ("Zip_Code", json!("48116")),
                ("City", json!("Brighton")),
                ("No_of_Employees", json!(0)),
                ("State", json!("MI")),
                ("Country", json!("Livingston")),
                ("Annual_Revenue", json!(200_000)),
                ("Salutation", json!("Ms.")),
                ("First_Name", json!("Mary")),
                ("Lead_Status", json!("Contacted")),
                ("Skype_ID", json!("Mary-burns")),
                ("Phone", json!("555-555-5555")),
                ("Email_Opt_Out", json!(true)),
                ("Designation", json!("Team Lead")),
                ("Mobile", json!("555-555-5555")),
                ("Last_Name", json!("Burns,B")),
                ("Lead_Source", json!("Twitter")),
            ] {
                set(&mut r, k, v);
            }
            r.insert("Tag".into(), json!([{"name": "Pharma", "id": format!("{prefix}000000371014")}, {"name": "Agricultural", "id": format!("{prefix}000000371015")}]));
        } else {
            fill_lead(&mut r, i, &tag, country);
        }
        let rec = finish_seed_record(&mut org, "Leads", r, t, &owner);
        org.push_record("Leads", rec);
    }
    let mut contacts_made: Vec<(String, String)> = Vec::new();
    for i in 0..counts.contacts {
        t += 600;
        let mut r = org.blank_record("Contacts");
        let first = FIRST_NAMES[(i * 7 + 3) % FIRST_NAMES.len()];
        let last = format!("{}{}", LAST_NAMES[(i * 5 + 1) % LAST_NAMES.len()], suffix_n(i, LAST_NAMES.len()));
        set(&mut r, "First_Name", json!(first));
        set(&mut r, "Last_Name", json!(last));
        set(&mut r, "Salutation", json!(SALUTATION[1 + i % (SALUTATION.len() - 1)]));
        set(&mut r, "Email", json!(format!("{}.{}@contact.example", first.to_lowercase(), slug(&last))));
        set(&mut r, "Phone", json!(format!("555-03{:02}-{:04}", i % 100, i)));
        set(&mut r, "Title", json!(["CEO", "CTO", "Buyer", "Manager"][i % 4]));
        set(&mut r, "Department", json!(["Sales", "IT", "Purchasing", "Operations"][i % 4]));
        set(&mut r, "Mailing_City", json!(CITIES[i % CITIES.len()].0));
        set(&mut r, "Mailing_Country", json!(country));
        set(&mut r, "Lead_Source", json!(LEAD_SOURCE[1 + i % (LEAD_SOURCE.len() - 1)]));
        set(&mut r, "Email_Opt_Out", json!(false));
        if let Some((name, id)) = accounts_made.get(i % accounts_made.len().max(1)) {
            set(&mut r, "Account_Name", json!({"name": name, "id": id}));
        }
        let rec = finish_seed_record(&mut org, "Contacts", r, t, &owner);
        let full = rec.data().get("Full_Name").and_then(Value::as_str).unwrap_or_default().to_owned();
        contacts_made.push((full, rec.id.clone()));
        org.push_record("Contacts", rec);
    }
    for i in 0..counts.deals {
        t += 600;
        let mut r = org.blank_record("Deals");
        let account = accounts_made.get(i % accounts_made.len().max(1));
        let name = format!(
            "{} - {}{tag}",
            account.map(|a| a.0.as_str()).unwrap_or("Zylker"),
            ["Renewal", "Expansion", "New Licenses", "Services"][i % 4]
        );
        set(&mut r, "Deal_Name", json!(format!("{name}{}", suffix_n(i, 4))));
        set(&mut r, "Stage", json!(STAGE[i % STAGE.len()]));
        set(&mut r, "Amount", json!(5_000 + i as i64 * 1_250));
        set(&mut r, "Probability", json!([10, 20, 40, 60, 75, 90, 100, 0][i % 8]));
        set(&mut r, "Closing_Date", json!(format_iso(start_s + (i as i64 + 1) * 7 * 86_400, offset)[..10].to_owned()));
        set(&mut r, "Type", json!(["Existing Business", "New Business"][i % 2]));
        if let Some((n, id)) = account {
            set(&mut r, "Account_Name", json!({"name": n, "id": id}));
        }
        if let Some((n, id)) = contacts_made.get(i % contacts_made.len().max(1)) {
            set(&mut r, "Contact_Name", json!({"name": n, "id": id}));
        }
        let rec = finish_seed_record(&mut org, "Deals", r, t, &owner);
        org.push_record("Deals", rec);
    }
    org
}

/// Fills in the `i`-th generated lead (names, company with the org's `tag`, contact data).
fn fill_lead(r: &mut Map<String, Value>, i: usize, tag: &str, country: &str) {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = format!(
        "{}{}",
        LAST_NAMES[(i / FIRST_NAMES.len() + i) % LAST_NAMES.len()],
        suffix_n(i, FIRST_NAMES.len() * LAST_NAMES.len())
    );
    let (city, state) = CITIES[i % CITIES.len()];
    let company = format!("{}{tag}", ACCOUNT_NAMES[(i * 3) % ACCOUNT_NAMES.len()]);
    set(r, "Company", json!(company));
    set(r, "Email", json!(format!("{}.{}{}@example.com", first.to_lowercase(), slug(&last), i)));
    set(r, "Industry", json!(INDUSTRY[1 + i % (INDUSTRY.len() - 1)]));
    set(r, "City", json!(city));
    set(r, "State", json!(state));
    set(r, "Country", json!(country));
    set(r, "Salutation", json!(SALUTATION[1 + i % (SALUTATION.len() - 1)]));
    set(r, "First_Name", json!(first));
    set(r, "Last_Name", json!(last));
    set(r, "Lead_Status", json!(LEAD_STATUS[1 + i % (LEAD_STATUS.len() - 1)]));
    set(r, "Lead_Source", json!(LEAD_SOURCE[1 + i % (LEAD_SOURCE.len() - 1)]));
    set(r, "Phone", json!(format!("555-01{:02}-{:04}", i % 100, i)));
    set(r, "Mobile", json!(format!("555-02{:02}-{:04}", i % 100, i)));
    set(r, "No_of_Employees", json!(5 + (i * 13) % 500));
    set(r, "Annual_Revenue", json!(50_000 + (i as i64 % 40) * 10_000));
    set(r, "Email_Opt_Out", json!(i.is_multiple_of(5)));
    set(r, "Designation", json!(["Manager", "Team Lead", "Director", "Engineer", "Buyer"][i % 5]));
}

/// Adds `n` generated records to `module` of `org`, created just before `now_s`; returns how many
/// records the module holds afterwards, or `None` when the module takes no records.
pub(crate) fn add_records(org: &mut Org, module: &str, n: usize, now_s: i64) -> Option<usize> {
    let def = org.module(module).map(|m| m.def).filter(|d| d.api_supported)?;
    let country = org.org_json.get("country").and_then(Value::as_str).unwrap_or("US").to_owned();
    let owner = org.owner.clone();
    let start = org.records.get(def.api_name).map_or(0, Vec::len);
    let first_t = now_s - i64::try_from(n).unwrap_or(i64::MAX / 2) - 60;
    for k in 0..n {
        let i = start + k;
        let mut r = org.blank_record(def.api_name);
        if def.api_name == "Leads" {
            fill_lead(&mut r, i, "", &country);
        } else {
            for fd in def.fields.iter().filter(|f| f.mandatory) {
                let v = match fd.picklist.first() {
                    Some(p) => json!(p),
                    None => json!(format!("{} {}", def.singular, i + 1)),
                };
                set(&mut r, fd.api_name, v);
            }
        }
        let t = first_t + i64::try_from(k).unwrap_or(0);
        let rec = finish_seed_record(org, def.api_name, r, t, &owner);
        org.push_record(def.api_name, rec);
    }
    Some(org.records.get(def.api_name).map_or(0, Vec::len))
}

fn suffix_n(i: usize, n: usize) -> String {
    if i >= n { format!(" {}", i / n + 1) } else { String::new() }
}

fn slug(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase()
}

fn set(r: &mut Map<String, Value>, k: &str, v: Value) {
    r.insert(k.to_owned(), v);
}

/// Gives a seeded record its id, owner, timestamps (created at `t`, modified a minute later, both
/// by `owner`) and derived fields.
fn finish_seed_record(org: &mut Org, module: &str, mut r: Map<String, Value>, t: i64, owner: &(String, String)) -> Rec {
    let id = org.new_id();
    r.insert("id".into(), Value::String(id.clone()));
    if r.contains_key("Owner") {
        r.insert("Owner".into(), json!({"name": owner.0, "id": owner.1}));
    }
    let by = json!({"name": owner.0, "id": owner.1});
    r.insert("Created_Time".into(), json!(format_iso(t, org.offset_secs)));
    r.insert("Modified_Time".into(), json!(format_iso(t + 60, org.offset_secs)));
    r.insert("Created_By".into(), by.clone());
    r.insert("Modified_By".into(), by);
    derive_fields(module, &mut r);
    Rec::new(id, r, t + 60)
}

/// The org of `dc` and `env`, seeded on first use (seeding every org up front is slow).
pub(crate) fn org(st: &mut State, dc: DataCenter, env: Environment) -> &mut Org {
    let (accounts, start_s) = (&st.accounts, st.start_s);
    let counts = if dc == DataCenter::Us && env == Environment::Production { st.us_counts } else { st.other_counts };
    st.orgs.entry((dc, env)).or_insert_with(|| build_org(dc, env, accounts, start_s, counts))
}

/// The initial world.
pub(crate) fn initial_state(config: &SimConfig, now_ms: i64) -> State {
    let accounts = seeded_accounts();
    let start_s = now_ms.div_euclid(1000);
    let other = SeedCounts {
        leads: config.other_org_records,
        contacts: config.other_org_records,
        accounts: config.other_org_records,
        deals: config.other_org_records,
    };
    let us = SeedCounts {
        leads: config.us_leads,
        contacts: config.us_contacts,
        accounts: config.us_accounts,
        deals: config.us_deals,
    };
    let mut clients = std::collections::BTreeMap::new();
    if config.register_default_client {
        let c = default_client();
        clients.insert(c.client_id.clone(), c);
    }
    State {
        clients,
        accounts,
        orgs: Default::default(),
        sessions: Default::default(),
        codes: Default::default(),
        refresh_tokens: Default::default(),
        access_tokens: Default::default(),
        seq: 0,
        faults: Default::default(),
        start_s,
        us_counts: us,
        other_counts: other,
    }
}

/// The public view of an account.
pub(crate) fn sim_user(st: &State, a: &Account) -> SimUser {
    let index = st.accounts.iter().position(|x| x.email == a.email).unwrap_or(0);
    let id = user_id(a.dc, Environment::Production, index);
    SimUser {
        email: a.email.clone(),
        full_name: format!("{} {}", a.first_name, a.last_name).trim().to_owned(),
        id,
        zuid: a.zuid.clone(),
        dc: a.dc,
    }
}

/// The role, profile and status a new CRM user gets.
pub(crate) struct NewCrmUser<'a> {
    pub role: &'a str,
    pub profile: &'a str,
    pub status: &'a str,
    pub confirm: bool,
}

/// A CRM user object for `account` in `org`.
pub(crate) fn new_crm_user(org: &mut Org, account: &Account, new: &NewCrmUser<'_>, now_s: i64) -> CrmUser {
    let id = org.new_id();
    let owner = org.owner.clone();
    let country = org.org_json.get("country").and_then(Value::as_str).unwrap_or("US").to_owned();
    let currency = org.org_json.get("currency").and_then(Value::as_str).unwrap_or("USD").to_owned();
    let created = format_iso(now_s, org.offset_secs);
    let json = user_json(&UserFields {
        id: &id,
        email: &account.email,
        first: &account.first_name,
        last: &account.last_name,
        zuid: Some(&account.zuid),
        role: org.role_ref(new.role),
        profile: org.profile_ref(new.profile),
        status: new.status,
        confirm: new.confirm,
        country: &country,
        currency: &currency,
        time_zone: &org.time_zone,
        offset_secs: org.offset_secs,
        created: &created,
        creator: &owner,
    });
    CrmUser { id, email: account.email.clone(), modified_s: now_s, json, denied_modules: Vec::new() }
}
