//! The PostgreSQL store's statements: schema migration (under an advisory transaction lock),
//! reading, writing and deleting one token row, on any client (a pooled connection, a
//! transaction or a lease's connection).

use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::types::ToSql;

use super::{Inner, lease::lock_id};
use crate::store::StoreError;
use crate::store::sql::row::{COLUMN_COUNT, StoredRow};
use crate::store::sql::{POSTGRES, key_params, migrate};
use crate::token::{Token, TokenKey};

impl Inner {
    /// Creates the schema if missing and brings the token table to the newest version, in one
    /// transaction under an advisory lock (instances starting together do not race).
    pub(super) async fn migrate(&self, conn: &mut Object) -> Result<(), StoreError> {
        let err = self.err("migrate the token table");
        let (schema, table) = (&self.schema, &self.table);
        let client = conn.transaction().await.map_err(&err)?;
        let lock = lock_id(&["zohocrm-migrate", schema]);
        client.execute("SELECT pg_advisory_xact_lock($1)", &[&lock]).await.map_err(&err)?;
        // CREATE SCHEMA needs the database's CREATE privilege even with IF NOT EXISTS: only
        // issue it when the schema is really missing.
        let exists =
            client.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[schema]).await.map_err(&err)?.is_some();
        if !exists {
            client.batch_execute(&format!("CREATE SCHEMA \"{schema}\"")).await.map_err(&err)?;
        }
        let schema_table = format!("\"{schema}\".zohocrm_schema");
        let steps = [migrate::token_table_ddl(&POSTGRES, &format!("\"{schema}\".\"{table}\""))];
        // Likewise CREATE TABLE IF NOT EXISTS needs CREATE on the schema: an application role
        // with read/write on tables a migration role set up must not need it.
        let has_versions = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&schema_table])
            .await
            .map_err(&err)?
            .try_get::<_, bool>(0)
            .map_err(&err)?;
        if !has_versions {
            client.batch_execute(&migrate::schema_table_ddl(&POSTGRES, &schema_table)).await.map_err(&err)?;
        }
        let found: i64 = client
            .query_opt(&migrate::select_version_sql(&POSTGRES, &schema_table), &[table])
            .await
            .map_err(&err)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(&err)?
            .unwrap_or(0);
        let pending = migrate::pending(&format!("{schema}.{table}"), found, &steps)?;
        for step in pending {
            client.batch_execute(step).await.map_err(&err)?;
        }
        if !pending.is_empty() {
            let version = migrate::newest(&steps);
            client
                .execute(&migrate::record_version_sql(&POSTGRES, &schema_table), &[table, &version])
                .await
                .map_err(&err)?;
        }
        client.commit().await.map_err(&err)
    }

    pub(super) async fn read(&self, client: &impl GenericClient, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let err = self.err("read a token");
        let stmt = client.prepare_cached(&self.sql.get).await.map_err(&err)?;
        let (user, dc, env) = key_params(key);
        let row = client.query_opt(&stmt, &[&user, &dc, &env]).await.map_err(&err)?;
        row.map(|r| StoredRow::decode(&r).map_err(&err)?.into_token(self.cipher.as_ref())).transpose()
    }

    pub(super) async fn write(&self, client: &impl GenericClient, token: &Token) -> Result<(), StoreError> {
        let err = self.err("write a token");
        let r = StoredRow::from_token(token, self.cipher.as_ref())?;
        let stmt = client.prepare_cached(&self.sql.put).await.map_err(&err)?;
        let (access, refresh) = r.exposed_secrets();
        let (access, refresh) = (Redacted(access), Redacted(refresh));
        let params: [&(dyn ToSql + Sync); COLUMN_COUNT] = [
            &r.user_key,
            &r.dc,
            &r.environment,
            &access,
            &refresh,
            &r.expires_at_ms,
            &r.api_domain,
            &r.accounts_server,
            &r.scopes,
            &r.created_at_ms,
            &r.updated_at_ms,
        ];
        client.execute(&stmt, &params).await.map(drop).map_err(&err)
    }

    pub(super) async fn remove(&self, client: &impl GenericClient, key: &TokenKey) -> Result<bool, StoreError> {
        let err = self.err("delete a token");
        let stmt = client.prepare_cached(&self.sql.delete).await.map_err(&err)?;
        let (user, dc, env) = key_params(key);
        let n = client.execute(&stmt, &[&user, &dc, &env]).await.map_err(&err)?;
        Ok(n > 0)
    }
}

/// A secret text column as a statement parameter: sent as the text it holds, shown as
/// `[redacted]`. The driver logs every statement's parameters with `{:?}` at debug level
/// (`log` target `tokio_postgres`), which an application's debug logging would otherwise print.
struct Redacted<'a>(Option<&'a str>);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "[redacted]" } else { "None" })
    }
}

impl ToSql for Redacted<'_> {
    fn to_sql(
        &self,
        ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <Option<&str> as ToSql>::accepts(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}
