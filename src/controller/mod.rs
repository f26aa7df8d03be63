//! Reconciles `IdentityCenterInstance` objects against SSO Admin: `decide`
//! holds the pure decisions, `reconcile` performs them, `run` wires the watch.

mod cluster;
pub mod conditions;
mod context;
pub mod decide;
pub mod errors;
mod malformed;
mod reconcile;
mod run;

pub use cluster::FIELD_MANAGER;
pub use context::{Context, Settings};
pub use reconcile::{Error, reconcile};
pub use run::{Readiness, run};

use kube::api::DynamicObject;

use crate::api::IdentityCenterInstance;

/// Reads a watched object as an IdentityCenterInstance.
pub fn parse(object: &DynamicObject) -> Result<IdentityCenterInstance, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(object)?)
}

#[cfg(test)]
mod tests;
