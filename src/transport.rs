//! The state the generated clients carry (`Inner`) and the hooks that run around each request.

/// Per-client state handed to the generated clients' hooks.
#[derive(Clone, Debug, Default)]
pub struct Inner {}
