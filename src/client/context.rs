//! The generated CRM clients' context ([`CrmContext`]): the connection they act for (data
//! center, environment, token source) and the call record their hooks fill. Shared by the v2
//! client and every v8 group; the hooks themselves are in `hooks`.

use std::sync::Arc;

use crate::dc::{DataCenter, Environment};
use crate::manager::TokenManager;
use crate::retry::Retrier;
use crate::token::TokenKey;
use crate::transport::{CallRecord, HookContext};

/// Per-client state of the generated CRM clients ([`crate::crm::Client`] and the
/// `crate::crm_v8::*::Client`s).
///
/// `CrmContext::default()` makes an unauthenticated client without retries (useful against
/// a test server).
#[derive(Clone, Debug, Default)]
pub struct CrmContext {
    /// The token source and the connection, for authenticated clients.
    pub(super) auth: Option<Arc<Auth>>,
    pub(super) dc: Option<DataCenter>,
    pub(super) environment: Option<Environment>,
    /// Where the hooks leave what happened during a call, when the hand-written layer reads it.
    pub(super) call: Option<CallRecord>,
    /// The retry policy and the shared retry budget.
    pub(super) retry: Retrier,
}

/// Where a CRM client's access tokens come from.
#[derive(Debug)]
pub(super) struct Auth {
    pub(super) manager: TokenManager,
    pub(super) key: TokenKey,
}

impl CrmContext {
    /// State for a CRM client acting for `auth`'s connection.
    pub(super) fn new(auth: Arc<Auth>, call: Option<CallRecord>, retry: Retrier) -> Self {
        Self { dc: Some(auth.key.dc), environment: Some(auth.key.environment), auth: Some(auth), call, retry }
    }
}

impl HookContext for CrmContext {
    fn call_record(&self) -> Option<&CallRecord> {
        self.call.as_ref()
    }
}
