//! The seed data, and only data: module and field definitions, picklists, the seeded CRM users,
//! roles and profiles, and the name pools records are generated from.

use crate::testkit::schema::{FieldDef, ModuleDef};

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

pub(super) const LEAD_STATUS: &[&str] = &[
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

pub(super) const LEAD_SOURCE: &[&str] = &[
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

pub(super) const INDUSTRY: &[&str] = &[
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

pub(super) const SALUTATION: &[&str] = &["-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."];

const RATING: &[&str] = &["-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"];

pub(super) const STAGE: &[&str] = &[
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

pub(super) const ACCOUNT_TYPE: &[&str] = &[
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

pub(super) const FIRST_NAMES: &[&str] = &[
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

pub(super) const LAST_NAMES: &[&str] = &[
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

pub(super) const ACCOUNT_NAMES: &[&str] = &[
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

pub(super) const CITIES: &[(&str, &str)] = &[
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
