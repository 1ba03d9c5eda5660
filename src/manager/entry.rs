//! One cached connection ([`Entry`]): its token and when it goes stale, the writer lock that
//! serializes refreshes with new consents and disconnects, the refresh in flight, and the
//! second-chance bit the cache's CLOCK hand reads.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use futures_util::future::{BoxFuture, Shared};

use crate::token::Token;

use super::{GRACE_MARGIN_MS, Outcome};

/// A refresh in progress: its id (to clear the right one) and its shared outcome.
pub(super) struct Flight {
    pub(super) id: u64,
    pub(super) outcome: Shared<BoxFuture<'static, Outcome>>,
}

/// A cached connection.
pub(super) struct Entry {
    /// The token and the moment (epoch ms) from which it is considered stale.
    pub(super) current: RwLock<Option<(Arc<Token>, i64)>>,
    /// Held by whoever writes this connection: a refresh flight, a new consent, a disconnect.
    pub(super) writer: tokio::sync::Mutex<()>,
    /// The refresh in progress, if any.
    pub(super) flight: Mutex<Option<Flight>>,
    /// Second-chance bit for eviction.
    pub(super) used: AtomicBool,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("refreshing", &self.refreshing()).finish_non_exhaustive()
    }
}

impl Entry {
    pub(super) fn new() -> Self {
        Self {
            current: RwLock::new(None),
            writer: tokio::sync::Mutex::const_new(()),
            flight: Mutex::new(None),
            used: AtomicBool::new(true),
        }
    }

    pub(super) fn fresh(&self, now: i64) -> Option<Arc<Token>> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some((token, stale_at)) if now < *stale_at && token.access_token.is_some() => Some(token.clone()),
            _ => None,
        }
    }

    /// The cached token if its access token is still valid (not merely fresh) at `now`.
    pub(super) fn still_valid(&self, now: i64) -> Option<Arc<Token>> {
        let guard = self.current.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some((token, _))
                if token.access_token.as_ref().is_some_and(|t| !t.is_empty())
                    && now < token.expires_at_ms.saturating_sub(GRACE_MARGIN_MS) =>
            {
                Some(token.clone())
            }
            _ => None,
        }
    }

    pub(super) fn cached(&self) -> Option<Arc<Token>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|(t, _)| t.clone())
    }

    pub(super) fn set(&self, token: Arc<Token>, stale_at: i64) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some((token, stale_at));
    }

    /// Caches `token` unless the entry already holds one (written by a refresh or a new
    /// consent meanwhile, which is newer than a store read).
    pub(super) fn fill(&self, token: Arc<Token>, stale_at: i64) {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some((token, stale_at));
        }
    }

    /// Whether a refresh of this connection is in flight.
    pub(super) fn refreshing(&self) -> bool {
        self.flight.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub(super) fn clear(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub(super) fn end_flight(&self, id: u64) {
        let mut slot = self.flight.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|f| f.id == id) {
            *slot = None;
        }
    }
}
