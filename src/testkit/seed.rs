//! The simulator's seeded world: module and field definitions, users, orgs and records, shaped
//! like Zoho's own payloads (tests/fixtures/zoho/*.json).

use serde_json::{Map, Value, json};

use crate::dc::{DataCenter, Environment};

use super::state::{Account, CrmUser, Org, OrgModule, Rec};
use super::time::format_iso;

/// One field of a module: its API name, label and Zoho data type.
#[derive(Debug)]
pub(crate) struct FieldDef {
    pub api_name: &'static str,
    pub label: &'static str,
    pub data_type: &'static str,
    pub mandatory: bool,
    pub read_only: bool,
    pub picklist: &'static [&'static str],
}

const fn f(api_name: &'static str, label: &'static str, data_type: &'static str) -> FieldDef {
    FieldDef { api_name, label, data_type, mandatory: false, read_only: false, picklist: &[] }
}
const fn req(api_name: &'static str, label: &'static str, data_type: &'static str) -> FieldDef {
    FieldDef { api_name, label, data_type, mandatory: true, read_only: false, picklist: &[] }
}
const fn ro(api_name: &'static str, label: &'static str, data_type: &'static str) -> FieldDef {
    FieldDef { api_name, label, data_type, mandatory: false, read_only: true, picklist: &[] }
}
const fn pick(api_name: &'static str, label: &'static str, values: &'static [&'static str]) -> FieldDef {
    FieldDef { api_name, label, data_type: "picklist", mandatory: false, read_only: false, picklist: values }
}

/// One module the simulated org knows.
#[derive(Debug)]
pub(crate) struct ModuleDef {
    pub api_name: &'static str,
    pub singular: &'static str,
    pub plural: &'static str,
    pub api_supported: bool,
    pub status: &'static str,
    pub sequence: u32,
    pub fields: &'static [FieldDef],
    /// `$`-keys (and `Tag`) every record of the module carries.
    pub system_keys: &'static [&'static str],
    /// Fields that make the record's display name, joined with a space.
    pub display: &'static [&'static str],
    /// Upsert's default `duplicate_check_fields`.
    pub dup_check: &'static [&'static str],
}

const LEAD_STATUS: &[&str] = &[
    "-None-",
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
];
const LEAD_SOURCE: &[&str] = &[
    "-None-",
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Online Store",
    "Partner",
    "Public Relations",
    "Sales Email Alias",
    "Seminar Partner",
    "Internal Seminar",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
    "Twitter",
    "Facebook",
];
const INDUSTRY: &[&str] = &[
    "-None-",
    "ASP (Application Service Provider)",
    "Data/Telecom OEM",
    "ERP",
    "Government/Military",
    "Large Enterprise",
    "ManagementISV",
    "MSP (Management Service Provider)",
    "Network Equipment Enterprise",
    "Non-management ISV",
    "Optical Networking",
    "Service Provider",
    "Small/Medium Enterprise",
    "Storage Equipment",
    "Storage Service Provider",
    "Systems Integrator",
    "Wireless Industry",
];
const SALUTATION: &[&str] = &["-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."];
const RATING: &[&str] = &["-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"];
const STAGE: &[&str] = &[
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
const ACCOUNT_TYPE: &[&str] = &[
    "-None-",
    "Analyst",
    "Competitor",
    "Customer",
    "Distributor",
    "Integrator",
    "Investor",
    "Other",
    "Partner",
    "Press",
    "Prospect",
    "Reseller",
    "Supplier",
    "Vendor",
];

const LEADS_FIELDS: &[FieldDef] = &[
    f("Account", "Account", "lookup"),
    f("Owner", "Lead Owner", "ownerlookup"),
    f("Company", "Company", "text"),
    f("Email", "Email", "email"),
    ro("Visitor_Score", "Visitor Score", "bigint"),
    ro("Last_Activity_Time", "Last Activity Time", "datetime"),
    pick("Industry", "Industry", INDUSTRY),
    f("Street", "Street", "text"),
    f("Zip_Code", "Zip Code", "text"),
    ro("First_Visited_URL", "First Visited URL", "website"),
    ro("Days_Visited", "Days Visited", "integer"),
    ro("Created_Time", "Created Time", "datetime"),
    f("City", "City", "text"),
    f("No_of_Employees", "No. of Employees", "integer"),
    f("Campaigns_Lookup", "Campaigns Lookup", "lookup"),
    f("State", "State", "text"),
    f("Country", "Country", "text"),
    ro("Last_Visited_Time", "Last Visited Time", "datetime"),
    ro("Created_By", "Created By", "ownerlookup"),
    f("Annual_Revenue", "Annual Revenue", "currency"),
    f("Secondary_Email", "Secondary Email", "email"),
    f("Description", "Description", "textarea"),
    ro("Number_Of_Chats", "Number Of Chats", "integer"),
    pick("Rating", "Rating", RATING),
    f("Website", "Website", "website"),
    f("Twitter", "Twitter", "text"),
    ro("Average_Time_Spent_Minutes", "Average Time Spent (Minutes)", "double"),
    f("Associated_Contacts", "Associated Contacts", "multiselectlookup"),
    pick("Salutation", "Salutation", SALUTATION),
    f("First_Name", "First Name", "text"),
    pick("Lead_Status", "Lead Status", LEAD_STATUS),
    ro("Full_Name", "Full Name", "text"),
    f("Record_Image", "Lead Image", "profileimage"),
    ro("Modified_By", "Modified By", "ownerlookup"),
    f("Skype_ID", "Skype ID", "text"),
    f("Phone", "Phone", "phone"),
    f("Email_Opt_Out", "Email Opt Out", "boolean"),
    f("Designation", "Title", "text"),
    ro("Modified_Time", "Modified Time", "datetime"),
    f("Mobile", "Mobile", "phone"),
    ro("Prediction_Score", "Prediction Score", "double"),
    ro("First_Visited_Time", "First Visited Time", "datetime"),
    req("Last_Name", "Last Name", "text"),
    ro("Referrer", "Referrer", "website"),
    pick("Lead_Source", "Lead Source", LEAD_SOURCE),
    f("Fax", "Fax", "text"),
];

const CONTACTS_FIELDS: &[FieldDef] = &[
    f("Owner", "Contact Owner", "ownerlookup"),
    f("Email", "Email", "email"),
    f("Description", "Description", "textarea"),
    f("Mailing_Zip", "Mailing Zip", "text"),
    f("Reports_To", "Reports To", "lookup"),
    f("Other_Phone", "Other Phone", "phone"),
    f("Mailing_State", "Mailing State", "text"),
    f("Twitter", "Twitter", "text"),
    f("Mailing_Street", "Mailing Street", "text"),
    pick("Salutation", "Salutation", SALUTATION),
    ro("Last_Activity_Time", "Last Activity Time", "datetime"),
    f("First_Name", "First Name", "text"),
    ro("Full_Name", "Full Name", "text"),
    f("Record_Image", "Contact Image", "profileimage"),
    f("Department", "Department", "text"),
    ro("Modified_By", "Modified By", "ownerlookup"),
    f("Skype_ID", "Skype ID", "text"),
    f("Phone", "Phone", "phone"),
    f("Mailing_Country", "Mailing Country", "text"),
    f("Account_Name", "Account Name", "lookup"),
    f("Email_Opt_Out", "Email Opt Out", "boolean"),
    ro("Modified_Time", "Modified Time", "datetime"),
    f("Date_of_Birth", "Date of Birth", "date"),
    f("Mailing_City", "Mailing City", "text"),
    ro("Created_Time", "Created Time", "datetime"),
    f("Title", "Title", "text"),
    f("Mobile", "Mobile", "phone"),
    req("Last_Name", "Last Name", "text"),
    pick("Lead_Source", "Lead Source", LEAD_SOURCE),
    ro("Created_By", "Created By", "ownerlookup"),
    f("Secondary_Email", "Secondary Email", "email"),
    f("Fax", "Fax", "phone"),
];

const ACCOUNTS_FIELDS: &[FieldDef] = &[
    f("Owner", "Account Owner", "ownerlookup"),
    f("Ownership", "Ownership", "picklist"),
    f("Description", "Description", "textarea"),
    pick("Account_Type", "Account Type", ACCOUNT_TYPE),
    pick("Rating", "Rating", RATING),
    f("SIC_Code", "SIC Code", "integer"),
    f("Website", "Website", "website"),
    f("Employees", "Employees", "integer"),
    ro("Last_Activity_Time", "Last Activity Time", "datetime"),
    pick("Industry", "Industry", INDUSTRY),
    f("Record_Image", "Account Image", "profileimage"),
    ro("Modified_By", "Modified By", "ownerlookup"),
    f("Account_Site", "Account Site", "text"),
    f("Phone", "Phone", "phone"),
    f("Billing_Country", "Billing Country", "text"),
    req("Account_Name", "Account Name", "text"),
    f("Account_Number", "Account Number", "bigint"),
    f("Ticker_Symbol", "Ticker Symbol", "text"),
    ro("Modified_Time", "Modified Time", "datetime"),
    f("Billing_Street", "Billing Street", "text"),
    ro("Created_Time", "Created Time", "datetime"),
    f("Billing_Code", "Billing Code", "text"),
    f("Parent_Account", "Parent Account", "lookup"),
    f("Billing_City", "Billing City", "text"),
    f("Billing_State", "Billing State", "text"),
    ro("Created_By", "Created By", "ownerlookup"),
    f("Fax", "Fax", "phone"),
    f("Annual_Revenue", "Annual Revenue", "currency"),
];

const DEALS_FIELDS: &[FieldDef] = &[
    f("Owner", "Deal Owner", "ownerlookup"),
    f("Description", "Description", "textarea"),
    f("Closing_Date", "Closing Date", "date"),
    ro("Last_Activity_Time", "Last Activity Time", "datetime"),
    ro("Modified_By", "Modified By", "ownerlookup"),
    req("Deal_Name", "Deal Name", "text"),
    ro("Expected_Revenue", "Expected Revenue", "currency"),
    FieldDef {
        api_name: "Stage",
        label: "Stage",
        data_type: "picklist",
        mandatory: true,
        read_only: false,
        picklist: STAGE,
    },
    f("Account_Name", "Account Name", "lookup"),
    ro("Modified_Time", "Modified Time", "datetime"),
    f("Next_Step", "Next Step", "text"),
    f("Amount", "Amount", "currency"),
    f("Probability", "Probability (%)", "integer"),
    f("Contact_Name", "Contact Name", "lookup"),
    ro("Created_Time", "Created Time", "datetime"),
    pick("Type", "Type", &["-None-", "Existing Business", "New Business"]),
    pick("Lead_Source", "Lead Source", LEAD_SOURCE),
    ro("Created_By", "Created By", "ownerlookup"),
];

const NOTES_FIELDS: &[FieldDef] = &[
    f("Owner", "Note Owner", "ownerlookup"),
    ro("Modified_By", "Modified By", "ownerlookup"),
    ro("Modified_Time", "Modified Time", "datetime"),
    ro("Created_Time", "Created Time", "datetime"),
    f("Parent_Id", "Parent ID", "lookup"),
    f("Note_Title", "Note Title", "text"),
    req("Note_Content", "Note Content", "textarea"),
    ro("Created_By", "Created By", "ownerlookup"),
];

const RECORD_KEYS: &[&str] = &["$currency_symbol", "$process_flow", "$approved", "$approval", "$editable", "Tag"];
const LEAD_KEYS: &[&str] = &[
    "$currency_symbol",
    "$converted",
    "$process_flow",
    "$approved",
    "$approval",
    "$editable",
    "$converted_detail",
    "Tag",
];

/// Every module of a seeded org, in `settings/modules` order.
pub(crate) static MODULES: &[ModuleDef] = &[
    ModuleDef {
        api_name: "Home",
        singular: "Home",
        plural: "Home",
        api_supported: false,
        status: "visible",
        sequence: 1,
        fields: &[],
        system_keys: &[],
        display: &[],
        dup_check: &[],
    },
    ModuleDef {
        api_name: "Leads",
        singular: "Lead",
        plural: "Leads",
        api_supported: true,
        status: "visible",
        sequence: 2,
        fields: LEADS_FIELDS,
        system_keys: LEAD_KEYS,
        display: &["Full_Name"],
        dup_check: &["Email"],
    },
    ModuleDef {
        api_name: "Contacts",
        singular: "Contact",
        plural: "Contacts",
        api_supported: true,
        status: "visible",
        sequence: 3,
        fields: CONTACTS_FIELDS,
        system_keys: RECORD_KEYS,
        display: &["Full_Name"],
        dup_check: &["Email"],
    },
    ModuleDef {
        api_name: "Accounts",
        singular: "Account",
        plural: "Accounts",
        api_supported: true,
        status: "visible",
        sequence: 4,
        fields: ACCOUNTS_FIELDS,
        system_keys: RECORD_KEYS,
        display: &["Account_Name"],
        dup_check: &["Account_Name"],
    },
    ModuleDef {
        api_name: "Deals",
        singular: "Deal",
        plural: "Deals",
        api_supported: true,
        status: "visible",
        sequence: 5,
        fields: DEALS_FIELDS,
        system_keys: RECORD_KEYS,
        display: &["Deal_Name"],
        dup_check: &["Deal_Name"],
    },
    ModuleDef {
        api_name: "Feeds",
        singular: "Feeds",
        plural: "Feeds",
        api_supported: false,
        status: "user_hidden",
        sequence: 15,
        fields: &[],
        system_keys: &[],
        display: &[],
        dup_check: &[],
    },
    ModuleDef {
        api_name: "Notes",
        singular: "Note",
        plural: "Notes",
        api_supported: true,
        status: "system_hidden",
        sequence: 32,
        fields: NOTES_FIELDS,
        system_keys: &["$editable"],
        display: &["Note_Title"],
        dup_check: &["Note_Title"],
    },
];

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

/// A seeded CRM user of the US org.
pub(crate) struct SeedCrmUser {
    pub email: &'static str,
    pub first: &'static str,
    pub last: &'static str,
    pub role: &'static str,
    pub profile: &'static str,
    pub status: &'static str,
    pub confirm: bool,
    pub denied_modules: &'static [&'static str],
}

/// The US org's users: several types and statuses, so every `type` filter selects something.
pub(crate) static US_CRM_USERS: &[SeedCrmUser] = &[
    SeedCrmUser {
        email: "patricia.boyle@zylker.example",
        first: "Patricia",
        last: "Boyle",
        role: "CEO",
        profile: "Administrator",
        status: "active",
        confirm: true,
        denied_modules: &[],
    },
    SeedCrmUser {
        email: "us.user@zylker.example",
        first: "US",
        last: "User",
        role: "Manager",
        profile: "Standard",
        status: "active",
        confirm: true,
        denied_modules: &[],
    },
    SeedCrmUser {
        email: "jane.jones@zylker.example",
        first: "Jane",
        last: "Jones",
        role: "Sales rep",
        profile: "Standard",
        status: "active",
        confirm: true,
        denied_modules: &["Deals"],
    },
    SeedCrmUser {
        email: "tom.jenkins@zylker.example",
        first: "Tom",
        last: "Jenkins",
        role: "Manager",
        profile: "Administrator",
        status: "active",
        confirm: false,
        denied_modules: &[],
    },
    SeedCrmUser {
        email: "jack.smith@zylker.example",
        first: "Jack",
        last: "Smith",
        role: "Sales rep",
        profile: "Standard",
        status: "disabled",
        confirm: false,
        denied_modules: &[],
    },
    SeedCrmUser {
        email: "old.user@zylker.example",
        first: "Old",
        last: "User",
        role: "Sales rep",
        profile: "Standard",
        status: "deleted",
        confirm: true,
        denied_modules: &[],
    },
];

/// Roles and profiles of every seeded org (name, id suffix).
pub(crate) const ROLES: &[(&str, u64)] = &[("CEO", 26_005), ("Manager", 26_008), ("Sales rep", 231_917)];
pub(crate) const PROFILES: &[(&str, u64)] = &[("Administrator", 26_011), ("Standard", 26_014)];

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

/// How many records each seeded org gets per module.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeedCounts {
    pub leads: usize,
    pub contacts: usize,
    pub accounts: usize,
    pub deals: usize,
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
        &company,
        country,
        currency,
        symbol,
        tz,
        accounts.iter().find(|a| a.dc == dc).map(|a| a.zuid.as_str()),
    );

    // Metadata.
    for def in MODULES {
        let id = org.new_id();
        let fields: Vec<Value> =
            def.fields.iter().enumerate().map(|(i, fd)| field_json(fd, &format!("{id}{:03}", i + 1))).collect();
        let module_modified = if def.api_supported { Some(format_iso(base_s, offset)) } else { None };
        let json = module_json(def, &id, module_modified.as_deref(), &owner, &org.profiles);
        let layout = layout_json(def, &format!("{id}900"), &fields, &owner, &org.profiles, &format_iso(base_s, offset));
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
        let rec = org.finish_seed_record("Accounts", r, t, &owner);
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
        let rec = org.finish_seed_record("Leads", r, t, &owner);
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
        let rec = org.finish_seed_record("Contacts", r, t, &owner);
        let full = rec.data.get("Full_Name").and_then(Value::as_str).unwrap_or_default().to_owned();
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
        let rec = org.finish_seed_record("Deals", r, t, &owner);
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
        let rec = org.finish_seed_record(def.api_name, r, t, &owner);
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

const FIRST_NAMES: &[&str] = &[
    "Christopher",
    "Carissa",
    "James",
    "Felix",
    "Kris",
    "Capla",
    "Leota",
    "Sage",
    "Simon",
    "Mitsue",
    "Donette",
    "Kiley",
    "Josephine",
    "Lenna",
    "Art",
    "Graciela",
];
const LAST_NAMES: &[&str] = &[
    "Maclead",
    "Kidman",
    "Paul",
    "Hirpara",
    "Marrier",
    "Paprocki",
    "Dilliard",
    "Wieser",
    "Morasca",
    "Tollner",
    "Foller",
    "Caldarera",
    "Darakjy",
    "Venere",
    "Chemel",
    "Ruta",
    "Albares",
    "Poquette",
];
const ACCOUNT_NAMES: &[&str] = &[
    "King",
    "Morlong Associates",
    "Chemel",
    "Feltz Printing Service",
    "Commercial Press",
    "Truhlar And Truhlar",
    "Chapman",
    "Rangoni Of Florence",
    "Printing Dimensions",
    "Buckley Miller & Wright",
    "Dal Tile Corporation",
    "Morlong Associates West",
];
const CITIES: &[(&str, &str)] = &[
    ("Brighton", "MI"),
    ("Kent", "OH"),
    ("Chicago", "IL"),
    ("San Jose", "CA"),
    ("Orangeburg", "NY"),
    ("Middlesex", "NJ"),
    ("Anchorage", "AK"),
    ("Milwaukee", "WI"),
    ("Phoenix", "AZ"),
];

/// The inputs of one user object.
pub(crate) struct UserFields<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub first: &'a str,
    pub last: &'a str,
    pub zuid: Option<&'a str>,
    pub role: Value,
    pub profile: Value,
    pub status: &'a str,
    pub confirm: bool,
    pub country: &'a str,
    pub currency: &'a str,
    pub time_zone: &'a str,
    pub offset_secs: i32,
    pub created: &'a str,
    pub creator: &'a (String, String),
}

/// A v2 user object with the full key set of users_list.json.
pub(crate) fn user_json(u: &UserFields<'_>) -> Map<String, Value> {
    let full_name = format!("{} {}", u.first, u.last).trim().to_owned();
    let by = json!({"name": u.creator.0, "id": u.creator.1});
    let v = json!({
        "country": u.country,
        "customize_info": {"notes_desc": null, "show_right_panel": null, "bc_view": null, "show_home": false, "show_detail_view": true, "unpin_recent_item": null},
        "role": u.role,
        "signature": null,
        "city": null,
        "name_format": "Salutation,First Name,Last Name",
        "language": "en_US",
        "locale": "en_US",
        "microsoft": false,
        "personal_account": false,
        "default_tab_group": "0",
        "Isonline": false,
        "Modified_By": by,
        "street": null,
        "Currency": u.currency,
        "alias": null,
        "theme": {
            "normal_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "selected_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "new_background": null,
            "background": "#F3F0EB",
            "screen": "fixed",
            "type": "default"
        }
    });
    let rest = json!({
        "id": u.id,
        "state": null,
        "fax": null,
        "country_locale": u.country,
        "first_name": u.first,
        "email": u.email,
        "Reporting_To": null,
        "decimal_separator": "Comma",
        "zip": null,
        "created_time": u.created,
        "website": null,
        "Modified_Time": u.created,
        "time_format": "hh:mm a",
        "offset": i64::from(u.offset_secs) * 1000,
        "profile": u.profile,
        "mobile": null,
        "last_name": u.last,
        "time_zone": u.time_zone,
        "created_by": by,
        "zuid": u.zuid,
        "confirm": u.confirm,
        "full_name": full_name,
        "territories": [],
        "phone": null,
        "dob": null,
        "date_format": "MM/dd/yyyy",
        "status": u.status
    });
    let mut out = match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Value::Object(m) = rest {
        out.extend(m);
    }
    out
}

fn org_json(
    org: &Org,
    company: &str,
    country: &str,
    currency: &str,
    symbol: &str,
    tz: &str,
    primary_zuid: Option<&str>,
) -> Value {
    let email = org.users.first().map(|u| u.email.clone());
    json!({
        "country": country,
        "photo_id": null,
        "city": null,
        "description": null,
        "mc_status": false,
        "gapps_enabled": false,
        "domain_name": format!("org{}", org.prefix),
        "translation_enabled": true,
        "street": null,
        "alias": null,
        "currency": currency,
        "id": org.id,
        "state": null,
        "fax": null,
        "employee_count": "25",
        "zip": null,
        "website": "www.zylker.example",
        "currency_symbol": symbol,
        "mobile": null,
        "currency_locale": format!("en_{country}"),
        "primary_zuid": primary_zuid,
        "zia_portal_id": null,
        "time_zone": tz,
        "zgid": format!("{}", org.prefix * 100 + 7),
        "country_code": country,
        "license_details": {
            "paid_expiry": null,
            "users_license_purchased": 10,
            "trial_type": null,
            "trial_expiry": null,
            "paid": true,
            "paid_type": "enterprise"
        },
        "phone": null,
        "company_name": company,
        "privacy_settings": false,
        "primary_email": email,
        "iso_code": currency
    })
}

fn module_json(
    def: &ModuleDef,
    id: &str,
    modified: Option<&str>,
    owner: &(String, String),
    profiles: &[(String, String)],
) -> Value {
    let supported = def.api_supported;
    json!({
        "has_more_profiles": false,
        "access_type": "org_based",
        "private_profile": null,
        "global_search_supported": supported,
        "deletable": supported,
        "description": null,
        "creatable": supported,
        "recycle_bin_on_delete": supported,
        "modified_time": modified,
        "plural_label": def.plural,
        "presence_sub_menu": supported,
        "actual_plural_label": def.plural,
        "lookupable": supported,
        "id": id,
        "isBlueprintSupported": supported,
        "visibility": 1,
        "convertable": def.api_name == "Leads",
        "sub_menu_available": supported,
        "editable": supported,
        "actual_singular_label": def.singular,
        "profiles": profiles.iter().map(|(n, i)| json!({"name": n, "id": i})).collect::<Vec<_>>(),
        "show_as_tab": def.status == "visible",
        "web_link": null,
        "sequence_number": def.sequence,
        "singular_label": def.singular,
        "viewable": true,
        "api_supported": supported,
        "api_name": def.api_name,
        "quick_create": supported,
        "modified_by": modified.map(|_| json!({"name": owner.0, "id": owner.1})),
        "generated_type": "default",
        "feeds_required": false,
        "public_fields_configured": false,
        "arguments": [],
        "module_name": def.api_name,
        "profile_count": profiles.len(),
        "business_card_field_limit": 5,
        "parent_module": {},
        "status": def.status
    })
}

fn json_type(data_type: &str) -> &'static str {
    match data_type {
        "integer" | "bigint" => "integer",
        "double" | "currency" => "double",
        "boolean" => "boolean",
        "lookup" | "ownerlookup" => "jsonobject",
        "multiselectlookup" => "jsonarray",
        _ => "string",
    }
}

/// A v2 field object (settings/fields).
pub(crate) fn field_json(fd: &FieldDef, id: &str) -> Value {
    let length = match fd.data_type {
        "textarea" => 32_000,
        "email" | "website" | "phone" => 100,
        "integer" => 9,
        "bigint" => 18,
        "currency" | "double" => 16,
        "picklist" => 120,
        _ => 255,
    };
    json!({
        "system_mandatory": fd.mandatory,
        "webhook": true,
        "json_type": json_type(fd.data_type),
        "crypt": null,
        "field_label": fd.label,
        "tooltip": null,
        "created_source": "default",
        "field_read_only": fd.read_only,
        "display_label": fd.label,
        "read_only": fd.read_only,
        "association_details": null,
        "businesscard_supported": !fd.read_only,
        "multi_module_lookup": {},
        "currency": if fd.data_type == "currency" { json!({"rounding_option": "normal", "precision": 2}) } else { json!({}) },
        "id": id,
        "custom_field": false,
        "lookup": {},
        "visible": true,
        "length": length,
        "view_type": {"view": true, "edit": !fd.read_only, "quick_create": fd.mandatory, "create": !fd.read_only},
        "subform": null,
        "api_name": fd.api_name,
        "unique": {},
        "history_tracking": false,
        "data_type": fd.data_type,
        "formula": {},
        "decimal_place": if matches!(fd.data_type, "currency" | "double") { json!(2) } else { Value::Null },
        "mass_update": !fd.read_only,
        "blueprint_supported": false,
        "multiselectlookup": {},
        "pick_list_values": fd.picklist.iter().enumerate().map(|(i, v)| json!({"display_value": v, "sequence_number": i + 1, "actual_value": v, "maps": []})).collect::<Vec<_>>(),
        "auto_number": {},
        "default_value": null,
        "validation_rule": null,
        "convert_mapping": {}
    })
}

fn layout_json(
    def: &ModuleDef,
    id: &str,
    fields: &[Value],
    owner: &(String, String),
    profiles: &[(String, String)],
    time: &str,
) -> Value {
    let section = format!("{} Information", def.singular);
    json!({
        "created_time": time,
        "convert_mapping": {},
        "visible": true,
        "created_for": null,
        "profiles": profiles.iter().map(|(n, i)| json!({"default": true, "name": n, "id": i})).collect::<Vec<_>>(),
        "name": "Standard",
        "modified_time": time,
        "modified_by": {"name": owner.0, "id": owner.1},
        "id": id,
        "created_by": {"name": owner.0, "id": owner.1},
        "sections": [{
            "display_label": section,
            "sequence_number": 1,
            "issubformsection": false,
            "tab_traversal": 1,
            "api_name": section,
            "column_count": 2,
            "name": section,
            "generated_type": "default",
            "fields": fields
        }],
        "status": 1
    })
}

/// Used by [`Org`] to stamp a seeded record.
pub(crate) fn stamp(
    r: &mut Map<String, Value>,
    created_s: i64,
    modified_s: i64,
    offset: i32,
    by: &(String, String),
    creator: &(String, String),
) {
    r.insert("Created_Time".into(), json!(format_iso(created_s, offset)));
    r.insert("Modified_Time".into(), json!(format_iso(modified_s, offset)));
    r.insert("Created_By".into(), json!({"name": creator.0, "id": creator.1}));
    r.insert("Modified_By".into(), json!({"name": by.0, "id": by.1}));
}

/// The record a seed generator fills in, made into a stored record.
pub(crate) fn seed_rec(id: String, data: Map<String, Value>, modified_s: i64) -> Rec {
    Rec { id, data, modified_s, created_s: modified_s }
}
