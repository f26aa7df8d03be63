//! The IdentityCenterInstanceSet controller: `run` wires the watch of sets
//! and of their children to `reconcile`, which reads the set's OUs from AWS
//! Organizations when due (`read`), renders each account's child (`render`),
//! asks `decide` (pure) what to write at the rollout's pace, writes the
//! children (`children`) and reports in the set's status (`status`).

mod children;
pub mod decide;
pub mod read;
mod reconcile;
pub mod render;
mod run;
mod status;

pub use run::run;
