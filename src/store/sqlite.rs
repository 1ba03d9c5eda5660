//! The embedded SQLite token store: one 0600 file, WAL, versioned schema, cross-process leases.
//!
//! * The file is created with mode 0600 before SQLite opens it; SQLite gives its `-wal` and
//!   `-shm` files the same mode. An existing file (or `-wal`/`-shm`/`-journal` sibling) readable
//!   or writable by group or others is **tightened to 0600** on open, with a warning logged.
//! * WAL journal, `synchronous=FULL` (a committed token survives a crash of the process *and*
//!   of the machine), a busy timeout so that processes sharing the file wait for each other.
//! * Schema versions live in a `zohocrm_schema` table (not `PRAGMA user_version`, which the
//!   application may use for its own schema when the tokens live in its database).
//! * A refresh lease is a row in `<table>_leases` (owner, process id, expiry), taken and given
//!   back in short transactions, so one process refreshes a connection while the others wait
//!   for it (polling, up to the busy timeout) — without holding SQLite's write lock across the
//!   call to Zoho: refreshes of other connections, writes and reads go on meanwhile. A lease
//!   whose process died (SIGKILL) is taken over at once (Linux: the process is gone, a zombie,
//!   or its id now belongs to a process started at another time — a restarted container's
//!   PID 1 is not its predecessor), or after its expiry (60 s) elsewhere. Each lease has its
//!   own owner token (`pid:start time:random`), and giving a lease back removes only the row
//!   with that token, never a later holder's. Processes sharing one file must see each other's
//!   process ids (one host, one PID namespace); across containers, use PostgreSQL. The token
//!   write (or delete) and the lease's removal commit together in [`RefreshLease::commit`]
//!   ([`RefreshLease::delete`]); a process killed at any point leaves either the old or the
//!   new row, never half of one.
//! * rusqlite is blocking: every call runs on `tokio::task::spawn_blocking` with a pooled
//!   connection.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::{
    COLUMNS, Cipher, KeyGuard, KeyLocks, RefreshLease, StoreError, StoredRow, TokenStore, UPSERT_TAIL, check_lease_key,
    dc_from_location, env_from_str, validate_identifier,
};
use crate::secret::SecretString;
use crate::token::{Token, TokenKey};

const BACKEND: &str = "SQLite";
/// The newest schema version of the token table (2 added the lease table).
const SCHEMA_VERSION: i64 = 2;
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
    get: String,
    put: String,
    delete: String,
    list: String,
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
            get: format!("SELECT {COLUMNS} FROM \"{table}\" WHERE user_key = ?1 AND dc = ?2 AND environment = ?3"),
            put: format!(
                "INSERT INTO \"{table}\" ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) {UPSERT_TAIL}"
            ),
            delete: format!("DELETE FROM \"{table}\" WHERE user_key = ?1 AND dc = ?2 AND environment = ?3"),
            list: format!(
                "SELECT user_key, dc, environment FROM \"{table}\" WHERE (?1 IS NULL OR user_key = ?1) ORDER BY user_key, dc, environment"
            ),
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
            process_start: process_start_time(std::process::id().into()).unwrap_or(0),
        });
        let setup = Arc::clone(&inner);
        blocking(move || {
            create_private_file(&setup.path)?;
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
            let select = super::import::dbstore_select_list(&present, |c| format!("CAST(\"{c}\" AS TEXT)"))?;
            let mut stmt = conn.prepare(&format!("SELECT {select} FROM \"{table}\"")).map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let mut values = Vec::with_capacity(super::import::DBSTORE_FIELDS.len());
                for i in 0..super::import::DBSTORE_FIELDS.len() {
                    values.push(row.get::<_, Option<String>>(i).map_err(db)?);
                }
                out.push(super::import::ZohoTokenRow::from_db_values(out.len() + 1, values));
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
            return Err(StoreError::Database {
                backend: BACKEND,
                action: "switch the database to WAL",
                source: format!("journal_mode stayed {mode:?} (is the file on a network file system?)").into(),
            });
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
            .prepare_cached(&self.sql.get)
            .and_then(|mut stmt| {
                stmt.query_row(params![key.user, key.dc.location(), key.environment.as_str()], |r| {
                    Ok(StoredRow {
                        user_key: r.get(0)?,
                        dc: r.get(1)?,
                        environment: r.get(2)?,
                        access_token: r.get::<_, Option<String>>(3)?.map(SecretString::new),
                        refresh_token: r.get::<_, Option<String>>(4)?.map(SecretString::new),
                        expires_at_ms: r.get(5)?,
                        api_domain: r.get(6)?,
                        accounts_server: r.get(7)?,
                        scopes: r.get(8)?,
                        created_at_ms: r.get(9)?,
                        updated_at_ms: r.get(10)?,
                    })
                })
                .optional()
            })
            .map_err(|e| busy_or_db("read a token", e, self.busy_timeout))?;
        row.map(|r| r.into_token(self.cipher.as_ref())).transpose()
    }

    fn write(&self, conn: &Connection, token: &Token) -> Result<(), StoreError> {
        let r = StoredRow::from_token(token, self.cipher.as_ref())?;
        conn.prepare_cached(&self.sql.put)
            .and_then(|mut stmt| {
                stmt.execute(params![
                    r.user_key,
                    r.dc,
                    r.environment,
                    r.access_token.as_ref().map(SecretString::expose),
                    r.refresh_token.as_ref().map(SecretString::expose),
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
            conn.prepare_cached(&inner.sql.delete)
                .and_then(|mut s| s.execute(params![key.user, key.dc.location(), key.environment.as_str()]))
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
            let mut stmt = conn.prepare_cached(&inner.sql.list).map_err(db)?;
            let mut rows = stmt.query([user.as_deref()]).map_err(db)?;
            let mut keys = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let (user, dc, env): (String, String, String) =
                    (row.get(0).map_err(db)?, row.get(1).map_err(db)?, row.get(2).map_err(db)?);
                let corrupt = |reason: String| StoreError::Corrupt { key: format!("{user}@{dc}/{env}"), reason };
                let dc_v = dc_from_location(&dc).ok_or_else(|| corrupt(format!("unknown data center {dc:?}")))?;
                let env_v = env_from_str(&env).ok_or_else(|| corrupt(format!("unknown environment {env:?}")))?;
                keys.push(TokenKey::new(user, dc_v, env_v));
            }
            keys.sort();
            Ok(keys)
        })
        .await
    }

    async fn begin_lease(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        // In-process waiters queue on an async mutex; other processes (and other store
        // instances) on the lease row, polled with back-off up to the busy timeout.
        let guard = self.inner.locks.lock(key).await;
        let owner = self.inner.new_owner();
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let inner = Arc::clone(&self.inner);
            let (k, o) = (key.clone(), owner.clone());
            match blocking(move || inner.try_take_lease(&k, &o)).await? {
                Some(current) => {
                    return Ok(Box::new(SqliteLease {
                        inner: Arc::clone(&self.inner),
                        key: key.clone(),
                        owner,
                        current,
                        done: false,
                        guard: Some(guard),
                    }));
                }
                None if started.elapsed() >= self.inner.busy_timeout => {
                    return Err(StoreError::Busy {
                        backend: BACKEND,
                        action: "take the refresh lease",
                        waited: started.elapsed(),
                    });
                }
                None => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
            }
        }
    }
}

impl Inner {
    /// A new lease owner token: `pid:start:random`, unique to one lease.
    fn new_owner(&self) -> String {
        format!("{}:{}:{}", std::process::id(), self.process_start, crate::encoding::random_hex(16))
    }

    /// Takes the lease of `key` for `owner` unless a live holder has it; returns the token as
    /// stored now.
    fn try_take_lease(&self, key: &TokenKey, owner: &str) -> Result<Option<Option<Token>>, StoreError> {
        let mut conn = self.take()?;
        let result = (|| {
            let busy = |e| busy_or_db("take the refresh lease", e, self.busy_timeout);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(busy)?;
            let now = now_ms();
            let holder: Option<(String, i64, i64)> = tx
                .prepare_cached(&self.sql.lease_get)
                .and_then(|mut st| {
                    st.query_row(params![key.user, key.dc.location(), key.environment.as_str()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(busy)?;
            let held =
                holder.is_some_and(|(holder, pid, expires)| holder != owner && expires > now && alive(pid, &holder));
            if held {
                return Ok(None);
            }
            let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX / 4);
            tx.prepare_cached(&self.sql.lease_take)
                .and_then(|mut st| {
                    st.execute(params![
                        key.user,
                        key.dc.location(),
                        key.environment.as_str(),
                        owner,
                        i64::from(std::process::id()),
                        now + ttl
                    ])
                })
                .map_err(busy)?;
            let current = self.read(&tx, key)?;
            tx.commit().map_err(busy)?;
            Ok(Some(current))
        })();
        self.give(conn);
        result
    }

    /// Does `finish` (write, delete or nothing) and gives `owner`'s lease back, in one
    /// transaction. Only `owner`'s lease row is removed: a lease that expired and was taken
    /// over belongs to its new holder. Returns whether a token row was deleted.
    fn finish_lease(&self, key: &TokenKey, owner: &str, finish: &Finish) -> Result<bool, StoreError> {
        let mut conn = self.take()?;
        let result = (|| {
            let action = match finish {
                Finish::Write(_) => "commit the refreshed token",
                Finish::Delete => "delete a token under the lease",
                Finish::Release => "release the refresh lease",
            };
            let busy = |e| busy_or_db(action, e, self.busy_timeout);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(busy)?;
            let deleted = match finish {
                Finish::Write(token) => {
                    self.write(&tx, token)?;
                    false
                }
                Finish::Delete => {
                    tx.prepare_cached(&self.sql.delete)
                        .and_then(|mut s| s.execute(params![key.user, key.dc.location(), key.environment.as_str()]))
                        .map_err(busy)?
                        > 0
                }
                Finish::Release => false,
            };
            tx.prepare_cached(&self.sql.lease_drop)
                .and_then(|mut st| st.execute(params![key.user, key.dc.location(), key.environment.as_str(), owner]))
                .map_err(busy)?;
            tx.commit().map_err(busy)?;
            Ok(deleted)
        })();
        self.give(conn);
        result
    }
}

/// How a lease ends.
enum Finish {
    /// Write this token.
    Write(Token),
    /// Delete the key's token row.
    Delete,
    /// Write nothing.
    Release,
}

/// Whether the process holding a lease (`pid`, lease owner `owner`) may still be running.
///
/// Linux: `/proc/<pid>` exists, is not a zombie and — when the owner records one
/// (`pid:start:random`) — was started at the recorded time. The start time tells a restarted
/// process with the same id (a container's PID 1, every time) and an unrelated process that
/// reused the id from the holder itself. Elsewhere, and for owners without a start time
/// (written by older versions), assume so and let the lease expire.
fn alive(pid: i64, owner: &str) -> bool {
    let recorded_start = owner_start(owner, pid);
    #[cfg(target_os = "linux")]
    {
        match process_start_time(pid) {
            None => false,
            Some(started) => recorded_start.is_none_or(|recorded| recorded == started),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = recorded_start;
        true
    }
}

/// The start time recorded in a `pid:start:random` lease owner of `pid`; `None` for other
/// formats (older versions wrote `pid-random`) or an unknown (`0`) start.
fn owner_start(owner: &str, pid: i64) -> Option<u64> {
    let mut parts = owner.split(':');
    let (owner_pid, start) = (parts.next()?, parts.next()?);
    parts.next()?;
    (owner_pid.parse::<i64>().ok()? == pid).then_some(())?;
    start.parse::<u64>().ok().filter(|&s| s != 0)
}

/// A running (not zombie) process's start time in clock ticks since boot: `/proc/<pid>/stat`
/// field 22. `None` if it is gone, a zombie, or this is not Linux.
fn process_start_time(pid: i64) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses and may contain any byte:
        // field 3 (state) is the first, field 22 (starttime) the 20th.
        let (_, rest) = stat.rsplit_once(')')?;
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        if state == "Z" || state == "X" {
            return None;
        }
        fields.nth(18)?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A refresh lease: its own row in the lease table (owner token unique to this lease), plus
/// the in-process key lock.
struct SqliteLease {
    inner: Arc<Inner>,
    key: TokenKey,
    owner: String,
    current: Option<Token>,
    done: bool,
    /// Released only after the lease row is gone (also on the drop path).
    guard: Option<KeyGuard>,
}

impl SqliteLease {
    async fn finish(mut self: Box<Self>, finish: Finish) -> Result<bool, StoreError> {
        self.done = true;
        let inner = Arc::clone(&self.inner);
        let (key, owner) = (self.key.clone(), self.owner.clone());
        let result = blocking(move || inner.finish_lease(&key, &owner, &finish)).await;
        drop(self); // releases the in-process lock only after the lease row is gone
        result
    }
}

#[async_trait::async_trait]
impl RefreshLease for SqliteLease {
    fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError> {
        if let Err(e) = check_lease_key(&self.key, token) {
            self.finish(Finish::Release).await?;
            return Err(e);
        }
        self.finish(Finish::Write(token.clone())).await.map(drop)
    }

    async fn delete(self: Box<Self>) -> Result<bool, StoreError> {
        self.finish(Finish::Delete).await
    }

    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        self.finish(Finish::Release).await.map(drop)
    }
}

impl Drop for SqliteLease {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped without commit/release: give the lease back (best effort; it expires anyway).
        // The in-process lock goes with it, so the next lease of this store waits until the row
        // is gone; and only this lease's own row is removed.
        let (inner, key, owner, guard) =
            (Arc::clone(&self.inner), self.key.clone(), self.owner.clone(), self.guard.take());
        let give_back = move || {
            if let Err(e) = inner.finish_lease(&key, &owner, &Finish::Release) {
                tracing::debug!(error = %e, "could not give back a dropped SQLite refresh lease; it will expire");
            }
            drop(guard);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(give_back)),
            Err(_) => give_back(),
        }
    }
}

/// Creates `path` with mode 0600 if missing; tightens an existing file (and SQLite's sibling
/// files) that group or others can access.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let io = |action, source| StoreError::Io { action, path: path.to_path_buf(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            for suffix in ["", "-wal", "-shm", "-journal"] {
                use std::os::unix::fs::PermissionsExt;
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let file = PathBuf::from(file);
                let meta = match std::fs::metadata(&file) {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {
                        continue;
                    }
                    Err(e) => {
                        return Err(StoreError::Io { action: "inspect", path: file, source: e });
                    }
                };
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %file.display(), mode = format!("{mode:o}"), "token store file was accessible to other users; tightening it to 0600");
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                        StoreError::Io { action: "restrict to mode 0600", path: file.clone(), source: e }
                    })?;
                }
            }
            Ok(())
        }
        Err(e) => Err(io("create", e)),
    }
}

/// Brings the token table to [`SCHEMA_VERSION`], inside one write transaction so concurrent
/// openers do not race.
fn migrate(conn: &mut Connection, table: &str) -> Result<(), StoreError> {
    let db = |e| db_error("migrate the token table", e);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS zohocrm_schema (table_name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)",
    )
    .map_err(db)?;
    let found: i64 = tx
        .query_row("SELECT version FROM zohocrm_schema WHERE table_name = ?1", [table], |r| r.get(0))
        .optional()
        .map_err(db)?
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::Migration { table: table.to_owned(), found, supported: SCHEMA_VERSION });
    }
    for version in found + 1..=SCHEMA_VERSION {
        let step = match version {
            1 => format!(
                "CREATE TABLE IF NOT EXISTS \"{table}\" (
                    user_key TEXT NOT NULL,
                    dc TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    access_token TEXT,
                    refresh_token TEXT,
                    expires_at_ms INTEGER NOT NULL,
                    api_domain TEXT NOT NULL,
                    accounts_server TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    created_at_ms INTEGER NOT NULL,
                    updated_at_ms INTEGER NOT NULL,
                    PRIMARY KEY (user_key, dc, environment)
                ) WITHOUT ROWID"
            ),
            2 => format!(
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
            _ => return Err(StoreError::Migration { table: table.to_owned(), found, supported: SCHEMA_VERSION }),
        };
        tx.execute_batch(&step).map_err(db)?;
    }
    if found < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO zohocrm_schema (table_name, version) VALUES (?1, ?2)
             ON CONFLICT (table_name) DO UPDATE SET version = excluded.version",
            params![table, SCHEMA_VERSION],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Database {
        backend: BACKEND,
        action: "run a database call",
        source: format!("the blocking task failed: {e}").into(),
    })?
}

fn db_error(action: &'static str, e: rusqlite::Error) -> StoreError {
    StoreError::Database { backend: BACKEND, action, source: Box::new(e) }
}

fn busy_or_db(action: &'static str, e: rusqlite::Error, waited: Duration) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Busy { backend: BACKEND, action, waited }
        }
        _ => db_error(action, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dc::{DataCenter, Environment};

    /// A dropped lease gives its row back on the blocking pool, after the in-process lock is
    /// free: by then the next lease of the same store may hold the row. The late give-back must
    /// not remove it.
    #[tokio::test]
    async fn a_late_give_back_never_removes_the_next_holders_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let store = SqliteStore::open(&path).await.unwrap();
        let inner = &store.inner;
        let k = TokenKey::new("ann", DataCenter::Us, Environment::Production);
        let (first, second) = (inner.new_owner(), inner.new_owner());
        assert!(inner.try_take_lease(&k, &first).unwrap().is_some(), "lease 1");
        let conn = Connection::open(&path).unwrap();
        // Lease 1 outlived its expiry: lease 2 takes the row over.
        conn.execute("UPDATE zohocrm_tokens_leases SET expires_at_ms = 1", []).unwrap();
        assert!(inner.try_take_lease(&k, &second).unwrap().is_some(), "lease 2");
        inner.finish_lease(&k, &first, &Finish::Release).unwrap(); // lease 1's late give-back
        let held: i64 = conn.query_row("SELECT count(*) FROM zohocrm_tokens_leases", [], |r| r.get(0)).unwrap();
        assert_eq!(held, 1, "lease 1's give-back removed lease 2's row");
    }
}
