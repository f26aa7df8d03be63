//! Everything the operator holds per watched object, kept in step with one
//! watch: its claim, its failure count, its place in the objects gauge, its
//! role sessions. kube's watcher can miss a Delete across a relist (the
//! object went while the watch was down); a relist that no longer shows an
//! object forgets it exactly as a Delete would.

use std::collections::HashSet;

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use super::reconcile::role_ref;
use crate::controller::claims::{Acting, key_of};
use crate::controller::context::Context;
use crate::controller::watched::Watched;

/// The index of one watch of `scope` ("" for all namespaces), beside its reflector cache.
pub struct WatchIndex {
    scope: String,
    /// The watch's cache, read before each event reaches it: at the end of a
    /// relist it still holds what the watch showed before.
    cache: Store<Watched>,
    /// The objects a relist under way has shown so far.
    relisted: Option<HashSet<ObjectRef<Watched>>>,
}

impl WatchIndex {
    pub fn new(scope: String, cache: Store<Watched>) -> Self {
        Self { scope, cache, relisted: None }
    }

    /// Takes in one event of the watch, before the cache does.
    pub fn event(&mut self, ctx: &Context, event: &watcher::Event<Watched>) {
        match event {
            watcher::Event::Init => {
                self.relisted = Some(HashSet::new());
                ctx.claims.relist_started(&self.scope);
            }
            watcher::Event::InitApply(object) => {
                if let Some(seen) = self.relisted.as_mut() {
                    seen.insert(ObjectRef::from_obj(object));
                }
                apply(ctx, object);
            }
            watcher::Event::Apply(object) => apply(ctx, object),
            watcher::Event::Delete(object) => forget_object(ctx, object),
            watcher::Event::InitDone => {
                let seen = self.relisted.take().unwrap_or_default();
                for gone in self.cache.state().iter().filter(|cached| !seen.contains(&ObjectRef::from_obj(&***cached)))
                {
                    forget_object(ctx, gone);
                }
                ctx.claims.relist_done(&self.scope);
            }
        }
    }
}

fn apply(ctx: &Context, object: &Watched) {
    match &object.0 {
        Ok(valid) => ctx.claims.observe(valid, ctx.tenancy.acting(valid)),
        // An object that does not parse claims nothing until it is fixed.
        Err(_) => ctx.claims.forget(&key_of(object)),
    }
}

/// An object is gone from the cluster (released by its finalizer, deleted
/// without one, or no longer listed): nothing is kept for it, its role
/// sessions included (each object has its own: the one of its role, or of a
/// grant's default role).
pub(super) fn forget_object(ctx: &Context, object: &Watched) {
    ctx.claims.forget(&key_of(object));
    if let Some(uid) = object.uid() {
        ctx.forget(&uid);
        ctx.metrics.object_gone(&uid);
    }
    let Ok(valid) = &object.0 else { return };
    let admitted = match ctx.tenancy.acting(valid) {
        Acting::As(role) => role,
        Acting::Refused | Acting::Pending => None,
    };
    let own = valid.spec.credentials.as_ref();
    let default = admitted.as_ref().filter(|admitted| Some(*admitted) != own);
    for credentials in [own, default].into_iter().flatten() {
        ctx.sso.forget_role(&role_ref(credentials, valid));
    }
}
