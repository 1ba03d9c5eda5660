//! [`TokenManager`]: hands out valid access tokens, refreshing each connection at most once at a time.
//!
//! The hot path (a cached, fresh token) takes one shared read lock on the cache and reads
//! one entry: no store I/O, no exclusive lock, no allocation (the token is handed out as a
//! shared handle).
//!
//! A refresh happens when the token is within [`RefreshPolicy::buffer`] (+ up to
//! [`RefreshPolicy::jitter`], fixed per token so a fleet does not refresh in lock-step) of
//! expiry, when it is missing from the cache and stale in the store, or when Zoho rejected it
//! (`INVALID_TOKEN`).
//!
//! **One refresh, one outcome.** The refresh of a connection runs as its own task (a *flight*):
//! the callers that need it all await the same flight and all receive its outcome, success or
//! failure. A caller that gives up (a handler timeout dropping its future) does not cancel it:
//! the token Zoho minted is always stored and used by the next call, so cancellations cannot
//! burn Zoho's 10-per-10-minutes limit. Across processes, the store's refresh lease
//! ([`TokenStore::begin_refresh`]) makes other processes wait and then reuse the token the first
//! one saved. The new token is persisted before anyone uses it, Zoho's refresh token is kept
//! (Zoho sends no new one), and a failed refresh leaves the stored token as it was.
//!
//! **Failures are remembered**, so an accounts outage does not turn 1,000 callers into 1,000
//! token requests: a failed refresh is remembered for [`RefreshPolicy::failure_memory`]
//! (default 5 s), Zoho's throttle until the back-off has passed, and
//! [`Error::ReauthorizationRequired`] until the connection is replaced (a new consent in this
//! or any other process sharing the store); a refresh answer that places the connection in
//! another data center or environment ([`Error::DataCenter`]) for the throttle back-off (one
//! token request per 10 minutes) or until the connection is replaced. While the access token is still valid, a refresh that
//! failed for a transient reason (network, 5xx, throttle, store) does not fail the call: the
//! still-valid token is used.
//!
//! **Connection writes are serialized with refreshes.** A new consent ([`TokenManager::insert`])
//! and a disconnect ([`TokenManager::disconnect`]) wait for an in-flight refresh and go through
//! the store's refresh lease, so a refresh can never overwrite a re-consent or undo a
//! disconnect. A new grant without a refresh token (Zoho sends none on a repeated offline
//! consent) keeps the stored one; a new refresh token replaces the old one, which is then
//! revoked at its data center.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::refresh::{DEFAULT_THROTTLE_BACKOFF, Refresher};
use crate::secret::{AccessToken, RefreshToken};
use crate::store::TokenStore;
use crate::token::{Token, TokenKey};

mod cache;
mod entry;
mod flight;

use cache::Cache;
use entry::{Entry, Flight};
use flight::{grace, read_store, run_flight};

/// When to refresh, and how to back off.
///
/// Build it with `RefreshPolicy { buffer: …, ..Default::default() }` or the `with_*` methods.
#[derive(Clone, Copy, Debug)]
#[must_use]
pub struct RefreshPolicy {
    /// Refresh when less than this much validity is left. Default 60 s (Zoho's SDKs use 5 s,
    /// which loses to clock skew and slow requests).
    pub buffer: Duration,
    /// Up to this much extra buffer, chosen per token, so many processes holding tokens minted
    /// together do not all refresh in the same second. Default 30 s.
    pub jitter: Duration,
    /// How long to stop asking Zoho for tokens after its throttle answer. Default 10 min
    /// (Zoho's window for "10 access tokens per refresh token").
    pub throttle_backoff: Duration,
    /// How long a failed refresh is remembered: callers within this time get the same error
    /// (or the still-valid access token) without another token request. Default 5 s.
    pub failure_memory: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            buffer: Duration::from_secs(60),
            jitter: Duration::from_secs(30),
            throttle_backoff: DEFAULT_THROTTLE_BACKOFF,
            failure_memory: DEFAULT_FAILURE_MEMORY,
        }
    }
}

impl RefreshPolicy {
    /// Sets [`RefreshPolicy::buffer`].
    pub fn with_buffer(mut self, buffer: Duration) -> Self {
        self.buffer = buffer;
        self
    }

    /// Sets [`RefreshPolicy::jitter`].
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`RefreshPolicy::throttle_backoff`].
    pub fn with_throttle_backoff(mut self, backoff: Duration) -> Self {
        self.throttle_backoff = backoff;
        self
    }

    /// Sets [`RefreshPolicy::failure_memory`] (zero: every caller after a failure tries again).
    pub fn with_failure_memory(mut self, memory: Duration) -> Self {
        self.failure_memory = memory;
        self
    }
}

/// The default of [`RefreshPolicy::failure_memory`].
pub const DEFAULT_FAILURE_MEMORY: Duration = Duration::from_secs(5);

/// An access token that failed to refresh for a transient reason is still used until this
/// close to its expiry (Zoho's own SDKs' buffer).
const GRACE_MARGIN_MS: i64 = 5_000;

/// The outcome of one refresh flight, shared by every caller waiting for it.
type Outcome = Result<Arc<Token>, Error>;

/// A failed refresh, remembered so that the callers after it do not each ask Zoho again.
#[derive(Debug)]
struct Remembered {
    error: Error,
    /// Until when (epoch ms); `i64::MAX` for a connection that must be authorized again.
    until_ms: i64,
    /// For those, and for a refresh answer that placed the connection in another data center
    /// or environment: the stored token that was refused. A stored token written
    /// after it, or with another refresh token, means the connection was replaced (possibly by
    /// another process, possibly by a new online grant, which has no refresh token at all).
    refused: Option<Refused>,
}

/// The stored token a refresh was refused for: its refresh token and when it was written.
/// The default (no token known) is replaced only by a token with a refresh token.
#[derive(Clone, Debug)]
pub(super) struct Refused {
    refresh_token: Option<RefreshToken>,
    updated_at_ms: i64,
}

impl Default for Refused {
    fn default() -> Self {
        Self { refresh_token: None, updated_at_ms: i64::MAX }
    }
}

impl Refused {
    pub(super) fn of(token: &Token) -> Self {
        Self { refresh_token: token.refresh_token.clone(), updated_at_ms: token.updated_at_ms }
    }

    /// Whether `stored` replaced the refused token: written later, or another refresh token.
    fn replaced_by(&self, stored: &Token) -> bool {
        let other_refresh_token = match (&stored.refresh_token, &self.refresh_token) {
            (Some(stored), Some(refused)) => !stored.ct_eq(refused),
            (Some(_), None) => true,
            (None, _) => false,
        };
        stored.updated_at_ms > self.updated_at_ms || other_refresh_token
    }
}

/// Counters for observability and tests.
#[derive(Debug, Default)]
struct Counters {
    refreshes: AtomicU64,
    store_loads: AtomicU64,
    flights: AtomicU64,
}

/// Hands out access tokens for connections, refreshing them once, safely, when needed.
///
/// Cheap to clone; clones share the cache.
#[derive(Clone, Debug)]
pub struct TokenManager {
    inner: Arc<ManagerInner>,
}

#[derive(Debug)]
struct ManagerInner {
    store: Arc<dyn TokenStore>,
    refresher: Arc<dyn Refresher>,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    capacity: usize,
    cache: RwLock<Cache>,
    /// Failed refreshes by connection; kept apart from the cache so that eviction does not
    /// forget a throttle back-off or a revoked connection.
    remembered: Mutex<HashMap<TokenKey, Remembered>>,
    counters: Counters,
}

/// A valid access token and where to use it: a shared handle on the cached [`Token`], so
/// handing it out allocates nothing.
#[derive(Clone, Debug)]
pub struct ValidToken(Arc<Token>);

impl ValidToken {
    /// The access token (redacted in Debug).
    pub fn secret(&self) -> &AccessToken {
        // A cached token handed out always has an access token (checked by `fresh`).
        static EMPTY: std::sync::OnceLock<AccessToken> = std::sync::OnceLock::new();
        self.0.access_token.as_ref().unwrap_or_else(|| EMPTY.get_or_init(AccessToken::default))
    }

    /// The CRM API base for it.
    pub fn api_domain(&self) -> &str {
        &self.0.api_domain
    }

    /// The whole token.
    pub fn token(&self) -> &Token {
        &self.0
    }
}

impl TokenManager {
    /// A manager over `store`, refreshing through `refresher` (an [`crate::oauth::OAuthClient`],
    /// or anything else that mints tokens), caching at most `capacity` connections.
    pub fn new(
        store: Arc<dyn TokenStore>,
        refresher: Arc<dyn Refresher>,
        clock: Arc<dyn Clock>,
        policy: RefreshPolicy,
        capacity: usize,
    ) -> Self {
        Self {
            inner: Arc::new(ManagerInner {
                store,
                refresher,
                clock,
                policy,
                capacity: capacity.max(1),
                cache: RwLock::new(Cache::new()),
                remembered: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        }
    }

    /// The store behind the cache.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.inner.store
    }

    /// What mints and revokes this manager's tokens.
    pub fn refresher(&self) -> &Arc<dyn Refresher> {
        &self.inner.refresher
    }

    /// The manager's clock, in Unix epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// How many refreshes this manager has sent to Zoho.
    pub fn refresh_count(&self) -> u64 {
        self.inner.counters.refreshes.load(Ordering::Relaxed)
    }

    /// How many times the store was read because the cache missed.
    pub fn store_load_count(&self) -> u64 {
        self.inner.counters.store_loads.load(Ordering::Relaxed)
    }

    /// How many cached connections there are now (never more than the capacity).
    pub fn cached_len(&self) -> usize {
        self.inner.cache.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A valid access token for `key`, refreshing it if needed.
    pub async fn access_token(&self, key: &TokenKey) -> Result<ValidToken> {
        let entry = self.entry(key);
        let now = self.inner.clock.now_ms();
        if let Some(token) = entry.fresh(now) {
            return Ok(access_of(&token));
        }
        self.slow_path(key, &entry, None).await
    }

    /// Zoho rejected `rejected` (HTTP 401 `INVALID_TOKEN`): refresh, unless another task already
    /// replaced it, and return the token to replay with.
    pub async fn refresh_after_rejection(&self, key: &TokenKey, rejected: &AccessToken) -> Result<ValidToken> {
        let entry = self.entry(key);
        self.slow_path(key, &entry, Some(rejected)).await
    }

    /// Stores a new grant for its connection (from [`OAuthClient::exchange_code`](crate::oauth::OAuthClient::exchange_code), a Self Client
    /// code or an imported refresh token) and caches it; returns the token as stored.
    ///
    /// Waits for a refresh of the same connection in flight and writes under the store's
    /// refresh lease, so the two never overwrite each other (in this process or across
    /// processes). A grant without a refresh token keeps the stored connection's refresh
    /// token: Zoho issues none on a repeated offline consent without `prompt=consent`, and the
    /// old one stays valid. A grant with a new refresh token replaces the old one, which is
    /// then revoked at its data center (a failure to revoke is logged, not returned: the new
    /// connection is in place).
    pub async fn insert(&self, token: Token) -> Result<Token> {
        let mut token = token;
        if token.refresh_token.as_ref().is_some_and(RefreshToken::is_empty) {
            token.refresh_token = None;
        }
        let key = token.key.clone();
        let entry = self.entry(&key);
        let writer = entry.writer.lock().await;
        let mut lease = self.inner.store.begin_refresh(&key).await?;
        if let Some(unreadable) = lease.take_unreadable() {
            // Nobody can use that row: the new grant replaces it (its old grant, unreadable,
            // cannot be revoked from here).
            tracing::warn!(connection = %key, error = %unreadable, "replacing a stored connection that cannot be read");
        }
        let mut replaced = None;
        if let Some(old) = lease.current() {
            match (&token.refresh_token, &old.refresh_token) {
                (None, Some(kept)) => {
                    tracing::info!(connection = %key, "the new grant has no refresh token; keeping the stored one");
                    token.refresh_token = Some(kept.clone());
                }
                (Some(new), Some(old_rt)) if !new.ct_eq(old_rt) => replaced = Some(old.clone()),
                _ => {}
            }
            token.created_at_ms = old.created_at_ms.min(token.created_at_ms);
        }
        let stored = lease.commit_shared(token).await?;
        let stale_at = self.stale_at(&stored);
        entry.set(stored.clone(), stale_at);
        self.forget_failure(&key);
        drop(writer);
        if let Some(old) = replaced {
            match self.inner.refresher.revoke(&old).await {
                Ok(()) => tracing::info!(connection = %key, "revoked the replaced refresh token"),
                Err(e) => tracing::warn!(connection = %key, error = %e, "could not revoke the replaced refresh token"),
            }
        }
        Ok(Token::clone(&stored))
    }

    /// Revokes the connection's refresh token at its data center and deletes the connection.
    ///
    /// Waits for a refresh in flight and holds the store's refresh lease throughout, so a
    /// refresh cannot write the connection back. If Zoho cannot be reached, nothing is deleted
    /// and the error is returned (the disconnect can be retried); a token Zoho already considers
    /// invalid is deleted. Disconnecting a connection that is not stored succeeds.
    pub async fn disconnect(&self, key: &TokenKey) -> Result<()> {
        let entry = self.entry(key);
        let writer = entry.writer.lock().await;
        let mut lease = self.inner.store.begin_refresh(key).await?;
        let Some(current) = lease.current().cloned() else {
            if let Some(unreadable) = lease.take_unreadable() {
                // A row nobody can read cannot be revoked either: remove it, so that the
                // user can connect again (the grant at Zoho expires unused, or the user
                // removes it under Connected Apps).
                tracing::warn!(connection = %key, error = %unreadable, "deleting a stored connection that cannot be read; its grant could not be revoked");
                lease.delete().await?;
            } else {
                lease.release().await?;
            }
            self.forget(key);
            self.forget_failure(key);
            return Ok(());
        };
        if let Err(e) = self.inner.refresher.revoke(&current).await {
            lease.release().await?;
            return Err(e);
        }
        lease.delete().await?;
        drop(writer);
        self.forget(key);
        self.forget_failure(key);
        Ok(())
    }

    /// Drops `key` from the cache (the store is untouched).
    pub fn forget(&self, key: &TokenKey) {
        if let Some(entry) = self.inner.cache.write().unwrap_or_else(|p| p.into_inner()).remove(key) {
            entry.clear();
        }
    }

    /// The stored token for `key` (from the cache when present).
    pub async fn token(&self, key: &TokenKey) -> Result<Token> {
        self.load(key).await.map(|t| Token::clone(&t))
    }

    /// The token of `key` as cached, or loaded from the store (and cached), without refreshing
    /// it and without copying its secrets.
    pub async fn load(&self, key: &TokenKey) -> Result<Arc<Token>> {
        let entry = self.entry(key);
        if let Some(token) = entry.cached() {
            return Ok(token);
        }
        // Outside the writer lock: a refresh or a new consent may have cached a newer token
        // since the store was read; it stays.
        let (token, stale_at) = read_store(&self.inner, key).await?;
        entry.fill(token.clone(), stale_at);
        Ok(entry.cached().unwrap_or(token))
    }

    fn entry(&self, key: &TokenKey) -> Arc<Entry> {
        {
            let cache = self.inner.cache.read().unwrap_or_else(|p| p.into_inner());
            if let Some(entry) = cache.get(key) {
                if !entry.used.load(Ordering::Relaxed) {
                    entry.used.store(true, Ordering::Relaxed);
                }
                return entry.clone();
            }
        }
        let mut cache = self.inner.cache.write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = cache.get(key) {
            return entry.clone();
        }
        let entry = Arc::new(Entry::new());
        cache.insert(key.clone(), entry.clone(), self.inner.capacity);
        entry
    }

    fn stale_at(&self, token: &Token) -> i64 {
        stale_at(&self.inner.policy, token)
    }

    fn forget_failure(&self, key: &TokenKey) {
        self.inner.remembered.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    async fn slow_path(
        &self,
        key: &TokenKey,
        entry: &Arc<Entry>,
        rejected: Option<&AccessToken>,
    ) -> Result<ValidToken> {
        // Two rounds at most: a flight started by another caller may return the very token
        // Zoho just rejected for us; then one more flight, with the rejection, refreshes it.
        for _ in 0..2 {
            let now = self.inner.clock.now_ms();
            if let Some(token) = entry.fresh(now).filter(|t| !is_rejected(t, rejected)) {
                return Ok(access_of(&token));
            }
            if let Some(error) = self.remembered_failure(key, entry, now).await {
                return grace(entry, now, rejected, &error).ok_or(error);
            }
            // A cache miss (a new or evicted connection) whose stored token is fresh is served
            // here, in the caller's task: spawning a flight for a store read would make each
            // miss wait for a task switch, behind every other runnable task.
            // A store failure here goes on to the flight, which remembers it for every caller.
            if rejected.is_none()
                && entry.cached().is_none()
                && let Ok(Some(token)) = self.fill_from_store(key, entry, now).await
            {
                return Ok(access_of(&token));
            }
            let outcome = self.flight(key, entry, rejected).await;
            match outcome {
                Ok(token) if is_rejected(&token, rejected) => continue,
                Ok(token) => return Ok(access_of(&token)),
                Err(error) => {
                    let now = self.inner.clock.now_ms();
                    return grace(entry, now, rejected, &error).ok_or(error);
                }
            }
        }
        Err(Error::config(format!(
            "Zoho rejected the access token of {key} and the refresh returned the same token; the connection may be misconfigured"
        )))
    }

    /// On a cache miss with no refresh in flight: reads the stored token into the entry (unless
    /// a concurrent writer filled it meanwhile) and returns it if it is fresh. `None` when a
    /// refresh is needed (stale, or one is already in flight).
    async fn fill_from_store(&self, key: &TokenKey, entry: &Entry, now: i64) -> Result<Option<Arc<Token>>> {
        if entry.refreshing() {
            return Ok(None);
        }
        let (token, stale_at) = read_store(&self.inner, key).await?;
        entry.fill(token, stale_at);
        Ok(entry.fresh(now))
    }

    /// Joins the connection's refresh in flight, or starts one, and waits for its outcome.
    fn flight(
        &self,
        key: &TokenKey,
        entry: &Arc<Entry>,
        rejected: Option<&AccessToken>,
    ) -> Shared<BoxFuture<'static, Outcome>> {
        let mut slot = entry.flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(flight) = slot.as_ref() {
            return flight.outcome.clone();
        }
        let id = self.inner.counters.flights.fetch_add(1, Ordering::Relaxed);
        let task = tokio::spawn(run_flight(self.inner.clone(), key.clone(), entry.clone(), rejected.cloned(), id));
        let waiter_entry = entry.clone();
        let outcome = async move {
            match task.await {
                Ok(outcome) => outcome,
                Err(join) => {
                    // The runtime dropped the task (shutting down) or it panicked: free the slot.
                    waiter_entry.end_flight(id);
                    Err(Error::config(format!("the token refresh task did not finish: {join}")))
                }
            }
        }
        .boxed()
        .shared();
        *slot = Some(Flight { id, outcome: outcome.clone() });
        outcome
    }

    /// A remembered failure that still applies to `key`, if any.
    async fn remembered_failure(&self, key: &TokenKey, entry: &Entry, now: i64) -> Option<Error> {
        let (error, refused) = self.inner.remembered_at(key, now)?;
        let Some(refused) = refused else {
            return Some(error);
        };
        // A connection that must be authorized again stays refused until it is replaced,
        // possibly by another process: look at the store (cheap next to a token request).
        self.inner.counters.store_loads.fetch_add(1, Ordering::Relaxed);
        match self.inner.store.get_shared(key).await {
            Ok(Some(stored)) if refused.replaced_by(&stored) => {
                self.forget_failure(key);
                let stale_at = self.stale_at(&stored);
                entry.set(stored, stale_at);
                None
            }
            _ => Some(error),
        }
    }
}

impl ManagerInner {
    /// The failure remembered for `key` that still applies at `now` (an expired one is
    /// forgotten), with the stored token it is tied to, if any.
    fn remembered_at(&self, key: &TokenKey, now: i64) -> Option<(Error, Option<Refused>)> {
        let mut map = self.remembered.lock().unwrap_or_else(|p| p.into_inner());
        let remembered = map.get(key)?;
        if now >= remembered.until_ms {
            map.remove(key);
            return None;
        }
        Some((remembered.error.clone(), remembered.refused.clone()))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// When a token should be considered stale: expiry minus buffer minus per-token jitter.
fn stale_at(policy: &RefreshPolicy, token: &Token) -> i64 {
    let buffer = millis(policy.buffer);
    let jitter_max = i64::try_from(policy.jitter.as_millis()).unwrap_or(0);
    let jitter = if jitter_max > 0 {
        // Fixed per token (derived from key and expiry), so repeated checks agree.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in token.key.user.bytes().chain(token.expires_at_ms.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        (h % (jitter_max as u64 + 1)) as i64
    } else {
        0
    };
    token.expires_at_ms.saturating_sub(buffer).saturating_sub(jitter)
}

fn is_rejected(token: &Token, rejected: Option<&AccessToken>) -> bool {
    match (rejected, token.access_token.as_ref()) {
        (Some(bad), Some(current)) => bad.ct_eq(current),
        _ => false,
    }
}

fn access_of(token: &Arc<Token>) -> ValidToken {
    ValidToken(token.clone())
}
