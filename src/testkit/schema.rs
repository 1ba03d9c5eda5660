//! The definitions of the simulated CRM modules and their fields (the data lives in
//! `seed::data`): what records, metadata and validation are generated from.

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
