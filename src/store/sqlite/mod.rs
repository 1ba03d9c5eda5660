//! The embedded SQLite token store: one 0600 file, WAL, versioned schema, cross-process leases.
//!
//! * The file is created with mode 0600 before SQLite opens it; SQLite gives its `-wal` and
//!   `-shm` files the same mode. An existing file (or `-wal`/`-shm`/`-journal` sibling) readable
//!   or writable by group or others is **tightened to 0600** on open, with a warning logged.
//! * WAL journal, `synchronous=FULL` (a committed token survives a crash of the process *and*
//!   of the machine), a busy timeout so that processes sharing the file wait for each other.
//! * Schema versions live in a `zohocrm_schema` table (not `PRAGMA user_version`, which the
//!   application may use for its own schema when the tokens live in its database).
//! * A refresh lease is a row in `<table>_leases` holding an owner token unique to the lease
//!   (`pid:start time:random`, where the start time is the process's `/proc/self/stat` field
//!   22, `0` where unknown), the holder's process id and an expiry (60 s ahead). It is taken
//!   and given back in short immediate transactions ([`lease`]), so one process refreshes a
//!   connection while the others poll for it (with back-off, up to the busy timeout) — SQLite's
//!   write lock is never held across the call to Zoho: refreshes of other connections, writes
//!   and reads go on meanwhile. Within one store, waiters queue on an in-process lock first.
//! * A lease row can be taken over when it has expired, or at once when its holder is dead
//!   ([`owner`]): on Linux, `/proc/<pid>` is gone or a zombie, or the process now running under
//!   that id started at another time than the owner token records (a restarted container's
//!   PID 1 is not its predecessor). For owners written by older versions (`pid-random`, no
//!   start time) Linux checks only that the process exists; on other systems only the expiry
//!   frees a lease.
//!   Processes sharing one file must see each other's process ids (one host, one PID
//!   namespace); across containers, use PostgreSQL.
//! * Giving a lease back deletes only the row with its own owner token, never a later
//!   holder's. The token write (or delete) and that removal commit in one transaction in
//!   [`RefreshLease::commit`] ([`RefreshLease::delete`]); a process killed at any point leaves
//!   either the old or the new row, never half of one.
//! * rusqlite is blocking: every call runs on `tokio::task::spawn_blocking` with a pooled
//!   connection.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::locks::KeyLocks;
use super::sql::row::{Cipher, RowSource, StoredRow};
use super::sql::{SQLITE, Statements, database_error, dbstore, key_params, migrate, parse_key, validate_identifier};
use super::{RefreshLease, StoreError, TokenStore};
use crate::token::{Token, TokenKey};

mod file;
mod lease;
mod owner;

const BACKEND: &str = SQLITE.backend;
/// How long a refresh lease lasts if its holder neither commits nor releases it. Longer than
/// a token call may take (the SDK bounds those at 20 s by default).
const LEASE_TTL: Duration = Duration::from_secs(60);
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

/// How to open a [`SqliteStore`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// How long to wait for another process's lock (a refresh in flight) before
    /// [`StoreError::Busy`]. Default 30 s: longer than a token call takes.
    pub busy_timeout: Duration,
    /// Seal the token columns with this key (feature `encryption`).
    #[cfg(feature = "encryption")]
    pub cipher: Option<super::TokenCipher>,
    /// The token table's name (default `zohocrm_tokens`); must be a plain identifier.
    pub table: String,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(30),
            #[cfg(feature = "encryption")]
            cipher: None,
            table: "zohocrm_tokens".to_owned(),
        }
    }
}

/// The SQLite token store (feature `sqlite`, on by default). Clones share connections.
///
/// ```no_run
/// # async fn demo() -> Result<(), zohocrm::store::StoreError> {
/// use zohocrm::store::{SqliteStore, TokenStore};
/// let store = SqliteStore::open("tokens.sqlite3").await?; // created 0600 if missing
/// let keys = store.list().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    busy_timeout: Duration,
    table: String,
    cipher: Option<Cipher>,
    idle: Mutex<Vec<Connection>>,
    locks: KeyLocks,
    sql: Sql,
    /// This process's start time (`/proc/self/stat` field 22; `0` where unknown), written into
    /// every lease owner so a later process with the same id can tell the lease is not its own.
    process_start: u64,
}

/// Statements, built once from the validated table name.
struct Sql {
    tokens: Statements,
    lease_get: String,
    lease_take: String,
    lease_drop: String,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("table", &self.inner.table)
            .field("encrypted", &self.inner.cipher.is_some())
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if missing, mode 0600) the store at `path` with default options.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (creating if missing, mode 0600) the store at `path`, migrating its schema.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        validate_identifier("table", &options.table)?;
        let table = options.table;
        let sql = Sql {
            tokens: Statements::new(&SQLITE, &format!("\"{table}\"")),
            lease_get: format!(
                "SELECT owner, pid, expires_at_ms FROM \"{table}_leases\" WHERE user_key = ?1 AND dc = ?2 AND environment = ?3"
            ),
            lease_take: format!(
                "INSERT INTO \"{table}_leases\" (user_key, dc, environment, owner, pid, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (user_key, dc, environment) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, expires_at_ms = excluded.expires_at_ms"
            ),
            lease_drop: format!(
                "DELETE FROM \"{table}_leases\" WHERE user_key = ?1 AND dc = ?2 AND environment = ?3 AND owner = ?4"
            ),
        };
        #[cfg(feature = "encryption")]
        let cipher = options.cipher;
        #[cfg(not(feature = "encryption"))]
        let cipher = None;
        let inner = Arc::new(Inner {
            path: path.as_ref().to_path_buf(),
            busy_timeout: options.busy_timeout,
            table,
            cipher,
            idle: Mutex::new(Vec::new()),
            locks: KeyLocks::default(),
            sql,
            process_start: owner::process_start_time(std::process::id().into()).unwrap_or(0),
        });
        let setup = Arc::clone(&inner);
        blocking(move || {
            file::create_private_file(&setup.path)?;
            let mut conn = setup.connect()?;
            migrate(&mut conn, &setup.table)?;
            setup.give(conn);
            Ok(())
        })
        .await?;
        Ok(Self { inner })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Reads a Zoho SDK DBStore table (`oauthtoken` layout of SDK 2.1 or 8.0) from the SQLite
    /// database at `path`, for [`super::import_zoho_rows`]. The file is opened read-only.
    pub async fn read_zoho_dbstore(
        path: impl AsRef<Path>,
        table: &str,
    ) -> Result<Vec<super::ZohoTokenRow>, StoreError> {
        validate_identifier("table", table)?;
        let path = path.as_ref().to_path_buf();
        let table = table.to_owned();
        blocking(move || {
            let db = |e| db_error("read the Zoho DBStore table", e);
            let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
            let mut present = Vec::new();
            {
                let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")")).map_err(db)?;
                let mut rows = stmt.query([]).map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    present.push(row.get::<_, String>(1).map_err(db)?);
                }
            }
            let select = dbstore::select_list(&present, |c| format!("CAST(\"{c}\" AS TEXT)"))?;
            let mut stmt = conn.prepare(&format!("SELECT {select} FROM \"{table}\"")).map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let mut values = Vec::with_capacity(dbstore::FIELDS.len());
                for i in 0..dbstore::FIELDS.len() {
                    values.push(row.get::<_, Option<String>>(i).map_err(db)?);
                }
                out.push(dbstore::row(out.len() + 1, values));
            }
            Ok(out)
        })
        .await
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection, &Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let conn = inner.take()?;
            let result = f(&conn, &inner);
            inner.give(conn);
            result
        })
        .await
    }
}

impl Inner {
    fn connect(&self) -> Result<Connection, StoreError> {
        let db = |e| db_error("open the database", e);
        // No CREATE flag: the file was created (0600) by `create_private_file`.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(db)?;
        conn.busy_timeout(self.busy_timeout).map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| busy_or_db("switch the database to WAL", e, self.busy_timeout))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(database_error(
                BACKEND,
                "switch the database to WAL",
                format!("journal_mode stayed {mode:?} (is the file on a network file system?)"),
            ));
        }
        conn.execute_batch("PRAGMA synchronous = FULL;").map_err(db)?;
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    /// Returns a connection to the pool, unless it is mid-transaction (then it is rolled back
    /// first, or closed).
    fn give(&self, conn: Connection) {
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    fn read(&self, conn: &Connection, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let row = conn
            .prepare_cached(&self.sql.tokens.get)
            .and_then(|mut stmt| stmt.query_row(key_row(key), |r| StoredRow::decode(r)).optional())
            .map_err(|e| busy_or_db("read a token", e, self.busy_timeout))?;
        row.map(|r| r.into_token(self.cipher.as_ref())).transpose()
    }

    fn write(&self, conn: &Connection, token: &Token) -> Result<(), StoreError> {
        let r = StoredRow::from_token(token, self.cipher.as_ref())?;
        let (access, refresh) = r.exposed_secrets();
        conn.prepare_cached(&self.sql.tokens.put)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    r.user_key,
                    r.dc,
                    r.environment,
                    access,
                    refresh,
                    r.expires_at_ms,
                    r.api_domain,
                    r.accounts_server,
                    r.scopes,
                    r.created_at_ms,
                    r.updated_at_ms
                ])
            })
            .map(drop)
            .map_err(|e| busy_or_db("write a token", e, self.busy_timeout))
    }
}

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let key = key.clone();
        self.with_conn(move |conn, inner| inner.read(conn, &key)).await
    }

    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        let token = token.clone();
        self.with_conn(move |conn, inner| inner.write(conn, &token)).await
    }

    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError> {
        let key = key.clone();
        self.with_conn(move |conn, inner| {
            conn.prepare_cached(&inner.sql.tokens.delete)
                .and_then(|mut s| s.execute(key_row(&key)))
                .map(|n| n > 0)
                .map_err(|e| busy_or_db("delete a token", e, inner.busy_timeout))
        })
        .await
    }

    async fn list(&self) -> Result<Vec<TokenKey>, StoreError> {
        self.list_keys(None).await
    }

    async fn list_user(&self, user: &str) -> Result<Vec<TokenKey>, StoreError> {
        self.list_keys(Some(user.to_owned())).await
    }

    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        self.begin_lease(key).await
    }
}

impl SqliteStore {
    /// Every stored key, or those of one application user.
    async fn list_keys(&self, user: Option<String>) -> Result<Vec<TokenKey>, StoreError> {
        self.with_conn(move |conn, inner| {
            let db = |e| busy_or_db("list tokens", e, inner.busy_timeout);
            let mut stmt = conn.prepare_cached(&inner.sql.tokens.list).map_err(db)?;
            let mut rows = stmt.query([user.as_deref()]).map_err(db)?;
            let mut keys = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let (user, dc, env): (String, String, String) =
                    (row.get(0).map_err(db)?, row.get(1).map_err(db)?, row.get(2).map_err(db)?);
                keys.push(parse_key(user, &dc, &env)?);
            }
            keys.sort();
            Ok(keys)
        })
        .await
    }
}

/// Brings the token table to the newest schema version (1: the token table, 2: the lease
/// table), inside one immediate transaction so concurrent openers do not race.
fn migrate(conn: &mut Connection, table: &str) -> Result<(), StoreError> {
    let db = |e| db_error("migrate the token table", e);
    let steps = [
        migrate::token_table_ddl(&SQLITE, &format!("\"{table}\"")),
        format!(
            "CREATE TABLE IF NOT EXISTS \"{table}_leases\" (
                user_key TEXT NOT NULL,
                dc TEXT NOT NULL,
                environment TEXT NOT NULL,
                owner TEXT NOT NULL,
                pid INTEGER NOT NULL,
                expires_at_ms INTEGER NOT NULL,
                PRIMARY KEY (user_key, dc, environment)
            ) WITHOUT ROWID"
        ),
    ];
    let schema_table = "zohocrm_schema";
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
    tx.execute_batch(&migrate::schema_table_ddl(&SQLITE, schema_table)).map_err(db)?;
    let found: i64 = tx
        .query_row(&migrate::select_version_sql(&SQLITE, schema_table), [table], |r| r.get(0))
        .optional()
        .map_err(db)?
        .unwrap_or(0);
    let pending = migrate::pending(table, found, &steps)?;
    for step in pending {
        tx.execute_batch(step).map_err(db)?;
    }
    if !pending.is_empty() {
        tx.execute(&migrate::record_version_sql(&SQLITE, schema_table), params![table, migrate::newest(&steps)])
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| database_error(BACKEND, "run a database call", format!("the blocking task failed: {e}")))?
}

/// A rusqlite error, boxed as the source of a [`StoreError::Database`].
fn db_error(action: &'static str, e: rusqlite::Error) -> StoreError {
    database_error(BACKEND, action, e)
}

fn busy_or_db(action: &'static str, e: rusqlite::Error, waited: Duration) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Busy { backend: BACKEND, action, waited }
        }
        _ => db_error(action, e),
    }
}

/// A key as the statement parameters of [`crate::store::sql::Dialect::key_match`].
fn key_row(key: &TokenKey) -> [&str; 3] {
    let (user, dc, environment) = key_params(key);
    [user, dc, environment]
}

impl RowSource for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn text(&self, index: usize) -> Result<String, rusqlite::Error> {
        self.get(index)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, rusqlite::Error> {
        self.get(index)
    }

    fn int(&self, index: usize) -> Result<i64, rusqlite::Error> {
        self.get(index)
    }
}
