//! [`TokenManager`]: hands out valid access tokens, refreshing each connection at most once at a time.
//!
//! The hot path (a cached, fresh token) takes one shared read lock on the cache map and reads
//! one entry: no store I/O, no exclusive lock, no allocation beyond cloning the token string.
//!
//! A refresh happens when the token is within [`RefreshPolicy::buffer`] (+ up to
//! [`RefreshPolicy::jitter`], fixed per token so a fleet does not refresh in lock-step) of
//! expiry, when it is missing from the cache and stale in the store, or when Zoho rejected it
//! (`INVALID_TOKEN`). Refreshes are single-flight twice over: in this process, one task per
//! connection calls Zoho while the others wait for its result; across processes, the store's
//! refresh lease ([`TokenStore::begin_refresh`]) makes other processes wait and then reuse the
//! token the first one saved. The new token is persisted before anyone uses it, Zoho's refresh
//! token is kept (Zoho sends no new one), and a failed refresh leaves the stored token as it was.
//!
//! After Zoho's token throttle ("too many requests"), no token request is sent for that
//! connection until the back-off has passed: callers get [`Error::RateLimited`] at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, RateLimitScope, Result};
use crate::oauth::OAuthClient;
use crate::secret::SecretString;
use crate::store::TokenStore;
use crate::token::{Token, TokenKey};

/// When to refresh, and how to back off.
#[derive(Clone, Copy, Debug)]
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
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            buffer: Duration::from_secs(60),
            jitter: Duration::from_secs(30),
            throttle_backoff: crate::oauth::DEFAULT_THROTTLE_BACKOFF,
        }
    }
}

/// A cached connection.
#[derive(Debug)]
struct Entry {
    /// The token and the moment (epoch ms) from which it is considered stale.
    current: RwLock<Option<(Arc<Token>, i64)>>,
    /// Held by the one task refreshing this connection.
    refreshing: tokio::sync::Mutex<()>,
    /// No token request before this time (epoch ms) after Zoho's throttle.
    blocked_until: AtomicI64,
    /// Second-chance bit for eviction.
    used: AtomicBool,
}

impl Entry {
    fn new() -> Self {
        Self {
            current: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            blocked_until: AtomicI64::new(i64::MIN),
            used: AtomicBool::new(true),
        }
    }

    fn fresh(&self, now: i64) -> Option<Arc<Token>> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some((token, stale_at)) if now < *stale_at && token.access_token.is_some() => Some(token.clone()),
            _ => None,
        }
    }

    fn set(&self, token: Arc<Token>, stale_at: i64) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some((token, stale_at));
    }

    fn clear(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Counters for observability and tests.
#[derive(Debug, Default)]
struct Counters {
    refreshes: AtomicU64,
    store_loads: AtomicU64,
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
    oauth: OAuthClient,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    capacity: usize,
    cache: RwLock<HashMap<TokenKey, Arc<Entry>>>,
    counters: Counters,
}

/// A valid access token and where to use it: a shared handle on the cached [`Token`], so
/// handing it out allocates nothing.
#[derive(Clone, Debug)]
pub struct AccessToken(Arc<Token>);

impl AccessToken {
    /// The access token (redacted in Debug).
    pub fn secret(&self) -> &SecretString {
        // A cached token handed out always has an access token (checked by `fresh`).
        static EMPTY: std::sync::OnceLock<SecretString> = std::sync::OnceLock::new();
        self.0.access_token.as_ref().unwrap_or_else(|| EMPTY.get_or_init(SecretString::default))
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
    /// A manager over `store`, refreshing through `oauth`, caching at most `capacity` connections.
    pub fn new(
        store: Arc<dyn TokenStore>,
        oauth: OAuthClient,
        clock: Arc<dyn Clock>,
        policy: RefreshPolicy,
        capacity: usize,
    ) -> Self {
        Self {
            inner: Arc::new(ManagerInner {
                store,
                oauth,
                clock,
                policy,
                capacity: capacity.max(1),
                cache: RwLock::new(HashMap::new()),
                counters: Counters::default(),
            }),
        }
    }

    /// The store behind the cache.
    pub fn store(&self) -> &Arc<dyn TokenStore> {
        &self.inner.store
    }

    /// The OAuth client used for refreshes.
    pub fn oauth(&self) -> &OAuthClient {
        &self.inner.oauth
    }

    /// How many refreshes this manager has sent to Zoho.
    pub fn refresh_count(&self) -> u64 {
        self.inner.counters.refreshes.load(Ordering::Relaxed)
    }

    /// How many times the store was read because the cache missed.
    pub fn store_load_count(&self) -> u64 {
        self.inner.counters.store_loads.load(Ordering::Relaxed)
    }

    /// How many connections are cached now (never more than the capacity).
    pub fn cached_len(&self) -> usize {
        self.inner.cache.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A valid access token for `key`, refreshing it if needed.
    pub async fn access_token(&self, key: &TokenKey) -> Result<AccessToken> {
        let entry = self.entry(key);
        let now = self.inner.clock.now_ms();
        if let Some(token) = entry.fresh(now) {
            return Ok(access_of(&token));
        }
        self.slow_path(key, &entry, None).await
    }

    /// Zoho rejected `rejected` (HTTP 401 `INVALID_TOKEN`): refresh, unless another task already
    /// replaced it, and return the token to replay with.
    pub async fn refresh_after_rejection(&self, key: &TokenKey, rejected: &SecretString) -> Result<AccessToken> {
        let entry = self.entry(key);
        self.slow_path(key, &entry, Some(rejected)).await
    }

    /// Stores a token obtained by [`OAuthClient::exchange_code`] and caches it.
    pub async fn insert(&self, token: Token) -> Result<()> {
        self.inner.store.put(&token).await?;
        let entry = self.entry(&token.key);
        let stale_at = self.stale_at(&token);
        entry.set(Arc::new(token), stale_at);
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
        if let Some((token, _)) = entry.current.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(token.clone());
        }
        self.load_into(key, &entry).await.map(|(token, _)| token)
    }

    /// Reads `key` from the store into its cache entry; returns the token and when it goes stale.
    async fn load_into(&self, key: &TokenKey, entry: &Entry) -> Result<(Arc<Token>, i64)> {
        self.inner.counters.store_loads.fetch_add(1, Ordering::Relaxed);
        let token = self.inner.store.get(key).await?.ok_or_else(|| Error::NotConnected { key: key.clone() })?;
        let stale_at = self.stale_at(&token);
        let token = Arc::new(token);
        entry.set(token.clone(), stale_at);
        Ok((token, stale_at))
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
        if cache.len() >= self.inner.capacity {
            evict_one(&mut cache);
        }
        let entry = Arc::new(Entry::new());
        cache.insert(key.clone(), entry.clone());
        entry
    }

    /// When a token should be considered stale: expiry minus buffer minus per-token jitter.
    fn stale_at(&self, token: &Token) -> i64 {
        let buffer = i64::try_from(self.inner.policy.buffer.as_millis()).unwrap_or(i64::MAX / 4);
        let jitter_max = i64::try_from(self.inner.policy.jitter.as_millis()).unwrap_or(0);
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

    async fn slow_path(
        &self,
        key: &TokenKey,
        entry: &Arc<Entry>,
        rejected: Option<&SecretString>,
    ) -> Result<AccessToken> {
        let _single = entry.refreshing.lock().await;
        let now = self.inner.clock.now_ms();
        // Someone else may have refreshed while we waited.
        if let Some(token) = entry.fresh(now).filter(|t| !is_rejected(t, rejected)) {
            return Ok(access_of(&token));
        }
        // Cache miss: the store may hold a fresh token (another process, or eviction).
        let cached_missing = entry.current.read().unwrap_or_else(|p| p.into_inner()).is_none();
        if cached_missing {
            let (token, stale_at) = self.load_into(key, entry).await?;
            if now < stale_at && token.access_token.is_some() && !is_rejected(&token, rejected) {
                return Ok(access_of(&token));
            }
        }
        let blocked_until = entry.blocked_until.load(Ordering::SeqCst);
        if now < blocked_until {
            return Err(Error::RateLimited {
                scope: RateLimitScope::TokenEndpoint,
                retry_after: Duration::from_millis((blocked_until - now) as u64),
            });
        }

        // Cross-process single flight: wait for, then hold, the store's refresh lease.
        let lease = self.inner.store.begin_refresh(key).await?;
        let Some(current) = lease.current().cloned() else {
            lease.release().await?;
            entry.clear();
            return Err(Error::NotConnected { key: key.clone() });
        };
        let now = self.inner.clock.now_ms();
        let stale_at = self.stale_at(&current);
        if now < stale_at && current.access_token.is_some() && !is_rejected(&current, rejected) {
            // Another process refreshed it while we waited for the lease.
            lease.release().await?;
            let current = Arc::new(current);
            entry.set(current.clone(), stale_at);
            return Ok(access_of(&current));
        }

        self.inner.counters.refreshes.fetch_add(1, Ordering::Relaxed);
        let refreshed = match self.inner.oauth.refresh(&current).await {
            Ok(token) => token,
            Err(error) => {
                lease.release().await?;
                if let Error::RateLimited { retry_after, .. } = &error {
                    let wait = self.inner.policy.throttle_backoff.max(*retry_after);
                    let until = now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 4));
                    entry.blocked_until.store(until, Ordering::SeqCst);
                    tracing::warn!(connection = %key, retry_after_s = wait.as_secs(), "Zoho throttled token requests; backing off");
                    return Err(Error::RateLimited { scope: RateLimitScope::TokenEndpoint, retry_after: wait });
                }
                // The old token stays in the store and in the cache, untouched.
                return Err(error);
            }
        };
        // Persist before anyone uses it; if that fails, nobody does.
        lease.commit(&refreshed).await?;
        let stale_at = self.stale_at(&refreshed);
        let refreshed = Arc::new(refreshed);
        entry.set(refreshed.clone(), stale_at);
        tracing::debug!(connection = %key, "access token refreshed and stored");
        Ok(access_of(&refreshed))
    }
}

fn is_rejected(token: &Token, rejected: Option<&SecretString>) -> bool {
    match (rejected, token.access_token.as_ref()) {
        (Some(bad), Some(current)) => bad.ct_eq(current),
        _ => false,
    }
}

fn access_of(token: &Arc<Token>) -> AccessToken {
    AccessToken(token.clone())
}

/// Second-chance eviction: drop the first entry not used since the last sweep.
fn evict_one(cache: &mut HashMap<TokenKey, Arc<Entry>>) {
    let victim = cache
        .iter()
        .find(|(_, e)| !e.used.swap(false, Ordering::Relaxed))
        .map(|(k, _)| k.clone())
        .or_else(|| cache.keys().next().cloned());
    if let Some(key) = victim {
        cache.remove(&key);
    }
}
