//! A refresh flight: the task that refreshes one connection under its writer lock and the
//! store's refresh lease, persists the new token before anyone uses it, and remembers a
//! failure so the callers after it do not each ask Zoho again.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::{Error, RateLimitScope, Result};
use crate::refresh::DEFAULT_THROTTLE_BACKOFF;
use crate::secret::{AccessToken, RefreshToken};
use crate::store::StoreError;
use crate::token::{Token, TokenKey};

use super::entry::Entry;
use super::{ManagerInner, Outcome, Refused, Remembered, ValidToken, access_of, is_rejected, millis, stale_at};

/// The refresh flight of one connection, run as its own task: it completes (and stores what
/// Zoho minted) even when every caller waiting for it has gone away.
pub(super) async fn run_flight(
    inner: Arc<ManagerInner>,
    key: TokenKey,
    entry: Arc<Entry>,
    rejected: Option<AccessToken>,
    id: u64,
) -> Outcome {
    let writer = entry.writer.lock().await;
    // A caller that looked at the failure memory before the previous flight failed, and
    // started this one after it ended, gets that failure: Zoho is not asked again. (One tied
    // to the stored token was checked against the store by the caller.)
    if let Some((error, None)) = inner.remembered_at(&key, inner.clock.now_ms()) {
        drop(writer);
        entry.end_flight(id);
        return Err(error);
    }
    let result = refresh_locked(&inner, &key, &entry, rejected.as_ref()).await;
    drop(writer);
    if let Err((error, refused)) = &result {
        remember(&inner, &key, error, refused.clone());
    }
    entry.end_flight(id);
    result.map_err(|(error, _)| error)
}

/// Records a failed refresh (see [`RefreshPolicy::failure_memory`]).
fn remember(inner: &ManagerInner, key: &TokenKey, error: &Error, refused: Option<Refused>) {
    let now = inner.clock.now_ms();
    // Zoho refused the grant, or put the connection in another data center or environment
    // than it is stored under: asking again gets the same answer until it is replaced (the
    // latter most likely: asked again only after the throttle back-off, in case it was a
    // passing fault).
    let refused_client = matches!(error, Error::OAuth { error, .. } if matches!(error.as_str(), "invalid_client" | "invalid_client_secret"));
    let until_replaced =
        refused_client || matches!(error, Error::ReauthorizationRequired { .. } | Error::DataCenter(_));
    let until_ms = match error {
        Error::ReauthorizationRequired { .. } => i64::MAX,
        Error::DataCenter(_) => now.saturating_add(millis(inner.policy.throttle_backoff)),
        // Zoho refusing the application itself (a wrong secret for this DC, Multi-DC off) is
        // configuration, not a passing fault: asking again every few seconds for every
        // connection would only flood Zoho Accounts.
        Error::OAuth { .. } if refused_client => now.saturating_add(millis(inner.policy.throttle_backoff)),
        Error::RateLimited { retry_after, .. } => now.saturating_add(millis(*retry_after)),
        Error::NotConnected { .. } => return,
        _ => now.saturating_add(millis(inner.policy.failure_memory)),
    };
    if until_ms <= now {
        return;
    }
    let mut map = inner.remembered.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() >= inner.capacity {
        map.retain(|_, r| r.until_ms > now);
    }
    let refused = if until_replaced { Some(refused.unwrap_or_default()) } else { None };
    map.insert(key.clone(), Remembered { error: error.clone(), until_ms, refused });
}

/// Reads `key` from the store into its cache entry; returns the token and when it goes stale.
async fn load_into(inner: &ManagerInner, key: &TokenKey, entry: &Entry) -> Result<(Arc<Token>, i64)> {
    let (token, stale_at) = read_store(inner, key).await?;
    entry.set(token.clone(), stale_at);
    Ok((token, stale_at))
}

/// Reads `key` from the store (counted); returns the token and when it goes stale.
pub(super) async fn read_store(inner: &ManagerInner, key: &TokenKey) -> Result<(Arc<Token>, i64)> {
    inner.counters.store_loads.fetch_add(1, Ordering::Relaxed);
    let token = inner.store.get_shared(key).await?.ok_or_else(|| Error::NotConnected { key: key.clone() })?;
    let stale_at = stale_at(&inner.policy, &token);
    Ok((token, stale_at))
}

/// The refresh itself, with the connection's writer lock held. On failure, also returns the
/// stored token that was refused (for `ReauthorizationRequired`).
async fn refresh_locked(
    inner: &ManagerInner,
    key: &TokenKey,
    entry: &Entry,
    rejected: Option<&AccessToken>,
) -> std::result::Result<Arc<Token>, (Error, Option<Refused>)> {
    let now = inner.clock.now_ms();
    // Someone else may have refreshed (or reconnected) while we waited.
    if let Some(token) = entry.fresh(now).filter(|t| !is_rejected(t, rejected)) {
        return Ok(token);
    }
    // Cache miss: the store may hold a fresh token (another process, or eviction).
    if entry.cached().is_none() {
        let (token, loaded_stale_at) = load_into(inner, key, entry).await.map_err(|e| (e, None))?;
        if now < loaded_stale_at && token.access_token.is_some() && !is_rejected(&token, rejected) {
            return Ok(token);
        }
    }

    // Cross-process single flight: wait for, then hold, the store's refresh lease.
    let mut lease = inner.store.begin_refresh(key).await.map_err(|e| (e.into(), None))?;
    let Some(current) = lease.current().cloned() else {
        let unreadable = lease.take_unreadable();
        lease.release().await.map_err(|e| (e.into(), None))?;
        if unreadable.is_none() {
            // Gone from the store (a disconnect elsewhere). A row that cannot be read is a
            // store fault instead: a cached token still valid keeps serving meanwhile.
            entry.clear();
        }
        // A row that cannot be read is that error, not "not connected".
        let error = unreadable.map_or_else(|| Error::NotConnected { key: key.clone() }, Error::from);
        return Err((error, None));
    };
    let now = inner.clock.now_ms();
    let current_stale_at = stale_at(&inner.policy, &current);
    if now < current_stale_at && current.access_token.is_some() && !is_rejected(&current, rejected) {
        // Another process refreshed it while we waited for the lease: use it, even if giving
        // the lease back fails (the lease expires, or its session closes).
        let current = Arc::new(current);
        entry.set(current.clone(), current_stale_at);
        if let Err(e) = lease.release().await {
            tracing::warn!(connection = %key, error = %e, "could not release the refresh lease");
        }
        return Ok(current);
    }

    inner.counters.refreshes.fetch_add(1, Ordering::Relaxed);
    let refreshed = match inner.refresher.refresh(&current).await {
        // Zoho's refresh answer carries no refresh token: the stored one stays, whatever the
        // refresher (a custom one too) put there.
        Ok(mut token) => {
            if token.refresh_token.as_ref().is_none_or(RefreshToken::is_empty) {
                token.refresh_token = current.refresh_token.clone();
            }
            token
        }
        Err(error) => {
            if let Err(e) = lease.release().await {
                tracing::warn!(connection = %key, error = %e, "could not release the refresh lease");
            }
            if let Error::RateLimited { retry_after, .. } = &error {
                // Zoho's own throttle answer (HTTP 400 "too many requests", no Retry-After) means
                // its 10-minute window: the policy's back-off. An HTTP 429 says how long to wait.
                // Either way, the wait is at least the failure memory (a `Retry-After: 0` would
                // let every caller ask again at once) and at most the back-off (a proxy's day).
                let wait =
                    if *retry_after == DEFAULT_THROTTLE_BACKOFF { inner.policy.throttle_backoff } else { *retry_after };
                let wait = wait
                    .max(inner.policy.failure_memory)
                    .min(inner.policy.throttle_backoff.max(inner.policy.failure_memory));
                tracing::warn!(connection = %key, retry_after_s = wait.as_secs(), "Zoho throttled token requests; backing off");
                return Err((Error::RateLimited { scope: RateLimitScope::TokenEndpoint, retry_after: wait }, None));
            }
            if matches!(error, Error::ReauthorizationRequired { .. })
                && let Some(outcome) = changed_meanwhile(inner, key, entry, &current).await
            {
                return outcome;
            }
            // The old token stays in the store and in the cache, untouched.
            return Err((error, Some(Refused::of(&current))));
        }
    };
    // Persist before anyone uses it; if that fails, nobody does.
    let refreshed = match lease.commit_shared(refreshed).await {
        Ok(refreshed) => refreshed,
        Err(lost @ StoreError::LeaseLost { .. }) => {
            return changed_meanwhile(inner, key, entry, &current).await.unwrap_or(Err((lost.into(), None)));
        }
        Err(e) => return Err((e.into(), None)),
    };
    let refreshed_stale_at = stale_at(&inner.policy, &refreshed);
    entry.set(refreshed.clone(), refreshed_stale_at);
    tracing::debug!(connection = %key, "access token refreshed and stored");
    Ok(refreshed)
}

/// What the store holds now, if it no longer holds `current`, the token this flight refreshed
/// from: another instance refreshed, reconnected or disconnected the user while Zoho answered
/// (its lease lost, or Zoho refusing the grant that reconnect replaced). That wins over this
/// flight's outcome: the stored token if it is usable, `NotConnected` if the row is gone.
/// `None` if the store still holds `current`, or could not tell.
async fn changed_meanwhile(
    inner: &ManagerInner,
    key: &TokenKey,
    entry: &Entry,
    current: &Token,
) -> Option<std::result::Result<Arc<Token>, (Error, Option<Refused>)>> {
    match read_store(inner, key).await {
        Err(gone @ Error::NotConnected { .. }) => {
            entry.clear();
            Some(Err((gone, None)))
        }
        Ok((stored, stored_stale_at)) if Refused::of(current).replaced_by(&stored) => {
            tracing::info!(connection = %key, "the stored token changed during the refresh; using the stored one");
            entry.set(stored.clone(), stored_stale_at);
            let usable = inner.clock.now_ms() < stored_stale_at && stored.access_token.is_some();
            usable.then_some(Ok(stored))
        }
        Ok(_) | Err(_) => None,
    }
}

/// After a failed refresh: the cached access token if it is still valid, the failure was
/// transient and Zoho did not reject that token.
///
/// An online grant (no refresh token: nothing to refresh it with) serves its access token
/// until it expires, instead of being refused when the refresh buffer begins.
pub(super) fn grace(entry: &Entry, now: i64, rejected: Option<&AccessToken>, error: &Error) -> Option<ValidToken> {
    let transient = error.is_retryable() || matches!(error, Error::Store(_));
    let token = entry.still_valid(now).filter(|t| !is_rejected(t, rejected))?;
    let online = token.refresh_token.is_none() && matches!(error, Error::ReauthorizationRequired { .. });
    if !transient && !online {
        return None;
    }
    if transient {
        tracing::info!(error = %error, "token refresh failed; using the still-valid access token");
    }
    Some(access_of(&token))
}
