//! Request ids.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The id of one client request, echoed in `x-request-id` and written to its audit record.
/// Built from a node-unique prefix and a counter by the server; opaque everywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// Shared: a call clones its id into its context, accounting and records.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
