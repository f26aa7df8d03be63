//! identity-center-operator: AWS IAM Identity Center instances as Kubernetes objects.
//!
//! The flow: [`api`] (the custom resource) -> [`controller`] (decide, then act)
//! -> [`sso`] (the SSO Admin port).

#![forbid(unsafe_code)]

pub mod api;
pub mod controller;
pub mod leader;
pub mod metrics;
pub mod server;
pub mod sso;
pub mod tables;
