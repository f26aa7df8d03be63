//! The controllers and the runtime they share. Each controller has a
//! directory of its own (`instance/`: IdentityCenterInstance,
//! `instance_set/`: IdentityCenterInstanceSet); what every
//! controller shares sits beside them: the context of clients and caches,
//! the listing tracker, tenancy, the claim index, fair shares, resync
//! booking, conditions and reasons, error classification. The shared modules
//! never import a controller (`tests/layout.rs`).

/// The field manager of every write, and the controller name of every event.
pub const FIELD_MANAGER: &str = "identity-center-operator";

pub mod claims;
pub mod conditions;
mod context;
pub mod errors;
mod fairness;
pub mod instance;
mod instance_caches;
pub mod instance_set;
mod leading;
mod listing;
mod next;
pub mod reasons;
mod resync;
pub mod tenancy;
mod watched;

pub use context::{Context, Settings};
pub use listing::Listing;
pub use next::{Error, Next};
pub use tenancy::Mode as TenancyMode;
pub use watched::Watched;
