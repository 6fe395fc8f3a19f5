//! Phase 3: which deployments may serve the requested model.

use switchboard_upstream::Deployment;
use switchboard_upstream::catalog::{Catalog, Lookup};

use crate::error::GatewayError;
use crate::identity::Identity;

/// The live deployments of `alias`, in the order they should be tried, if this identity
/// may use it. Until routing strategies arrive the order is the config's.
pub fn route<'a>(
    catalog: &'a Catalog,
    identity: &Identity,
    alias: &str,
) -> Result<&'a [Deployment], GatewayError> {
    match catalog.lookup(alias) {
        Lookup::Unknown => Err(GatewayError::UnknownModel(alias.to_owned())),
        _ if !identity.may_use(alias) => Err(GatewayError::ModelNotAllowed(alias.to_owned())),
        Lookup::Unavailable(reason) => Err(GatewayError::ModelUnavailable {
            alias: alias.to_owned(),
            reason: reason.to_owned(),
        }),
        Lookup::Live(deployments) => Ok(deployments),
    }
}
