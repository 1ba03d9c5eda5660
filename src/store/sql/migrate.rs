//! Schema bookkeeping shared by the SQL stores: the `zohocrm_schema` table that records each
//! token table's schema version, the token table's definition in either dialect, and the
//! decision which migration steps a table still needs (or that it is too new to use).
//!
//! The backends run the steps in one transaction under their own lock (SQLite: an immediate
//! transaction; PostgreSQL: an advisory transaction lock).

use super::Dialect;
use crate::store::StoreError;

/// `CREATE TABLE IF NOT EXISTS` of the version table `schema_table` (`zohocrm_schema`, or
/// `"schema".zohocrm_schema`).
pub(crate) fn schema_table_ddl(d: &Dialect, schema_table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {schema_table} (table_name TEXT PRIMARY KEY NOT NULL, version {} NOT NULL)",
        d.bigint
    )
}

/// The recorded version of one table (parameter 1: its name).
pub(crate) fn select_version_sql(d: &Dialect, schema_table: &str) -> String {
    format!("SELECT version FROM {schema_table} WHERE table_name = {}", (d.placeholder)(1))
}

/// Records a table's version (parameters: name, version).
pub(crate) fn record_version_sql(d: &Dialect, schema_table: &str) -> String {
    let p = d.placeholder;
    format!(
        "INSERT INTO {schema_table} (table_name, version) VALUES ({}, {})
         ON CONFLICT (table_name) DO UPDATE SET version = excluded.version",
        p(1),
        p(2)
    )
}

/// Version 1 of every token table: the token rows, keyed by (user, data center, environment).
pub(crate) fn token_table_ddl(d: &Dialect, table: &str) -> String {
    let (int, options) = (d.bigint, d.keyed_table_options);
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            user_key TEXT NOT NULL,
            dc TEXT NOT NULL,
            environment TEXT NOT NULL,
            access_token TEXT,
            refresh_token TEXT,
            expires_at_ms {int} NOT NULL,
            api_domain TEXT NOT NULL,
            accounts_server TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at_ms {int} NOT NULL,
            updated_at_ms {int} NOT NULL,
            PRIMARY KEY (user_key, dc, environment)
        ){options}"
    )
}

/// The steps a table at version `found` still needs, out of `steps` (step `i` brings version
/// `i` to `i + 1`; the newest version is `steps.len()`). A table newer than that, or with a
/// nonsense version, is [`StoreError::Migration`]: never touched.
pub(crate) fn pending<'a>(label: &str, found: i64, steps: &'a [String]) -> Result<&'a [String], StoreError> {
    let supported = i64::try_from(steps.len()).unwrap_or(i64::MAX);
    let refused = || StoreError::Migration { table: label.to_owned(), found, supported };
    let done = usize::try_from(found).map_err(|_| refused())?;
    steps.get(done..).ok_or_else(refused)
}

/// The newest version `steps` lead to, as stored in the version table.
pub(crate) fn newest(steps: &[String]) -> i64 {
    i64::try_from(steps.len()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_steps() {
        let steps = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(pending("t", 0, &steps).unwrap(), &steps[..]);
        assert_eq!(pending("t", 1, &steps).unwrap(), &steps[1..]);
        assert!(pending("t", 2, &steps).unwrap().is_empty());
        let err = pending("s.t", 3, &steps).unwrap_err();
        assert!(matches!(err, StoreError::Migration { found: 3, supported: 2, .. }), "{err}");
        assert!(matches!(pending("t", -1, &steps), Err(StoreError::Migration { .. })));
        assert_eq!(newest(&steps), 2);
    }
}
