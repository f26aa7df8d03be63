//! What every reconcile shares: clients, configuration, caches, metrics.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::runtime::events::Reporter;

use super::claims::ClaimIndex;
use super::fairness::FairShare;
use super::instance_caches::InstanceCaches;
use super::listing::Listing;
use super::resync::ResyncSchedule;
use super::tenancy::{Mode, Tenancy};
use crate::metrics::Metrics;
use crate::sso::{Organizations, SsoAdmin};

/// The operator's settings that reconciles depend on.
#[derive(Clone, Debug)]
pub struct Settings {
    pub default_region: Option<String>,
    /// How often a settled object is re-checked for drift.
    pub resync_interval: Duration,
    /// Namespaces the operator watches; empty means all.
    pub namespaces: Vec<String>,
    /// Whether grants decide which namespaces may act in which accounts.
    pub tenancy: Mode,
    /// How many reconciles run at once, shared fairly between namespaces.
    pub concurrency: u16,
    /// This cluster's name in the ownership tags of the instances it creates.
    pub cluster_name: String,
}

pub struct Context {
    pub client: kube::Client,
    pub sso: Arc<dyn SsoAdmin>,
    /// AWS Organizations, for the instance sets' reads.
    pub organizations: Arc<dyn Organizations>,
    pub settings: Settings,
    pub reporter: Reporter,
    pub metrics: Arc<Metrics>,
    /// The account the operator's own credentials act in (GetCallerIdentity), once known.
    pub own_account: tokio::sync::Mutex<Option<String>>,
    /// Which watches have listed once: /readyz, tenancy and the claims ask it.
    pub listing: Listing,
    /// Which watched object bids for which account, kept by the watch.
    pub claims: ClaimIndex,
    /// Spreads the drift checks of settled objects over the resync interval.
    pub resync: ResyncSchedule,
    /// The grants and namespaces, from their watches.
    pub tenancy: Arc<Tenancy>,
    /// Each namespace's share of the reconcile slots.
    pub fair_share: FairShare,
    /// The instance controller's caches, where instance sets find their children.
    pub instances: InstanceCaches,
    /// Consecutive failed reconciles per object UID, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// The UIDs this process has reconciled since it started: any other is
    /// seen for the first time (a restart, a new leader), and may be settled.
    acquainted: Mutex<HashSet<String>>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        sso: Arc<dyn SsoAdmin>,
        organizations: Arc<dyn Organizations>,
        settings: Settings,
        reporter: Reporter,
        metrics: Arc<Metrics>,
    ) -> Self {
        let resync = ResyncSchedule::new(settings.resync_interval);
        let listing = Listing::default();
        let tenancy = Arc::new(Tenancy::new(settings.tenancy, listing.clone()));
        let fair_share = FairShare::new(settings.concurrency.into());
        Self {
            client,
            sso,
            organizations,
            settings,
            reporter,
            metrics,
            own_account: Default::default(),
            claims: ClaimIndex::new(listing.clone()),
            listing,
            resync,
            tenancy,
            fair_share,
            instances: InstanceCaches::default(),
            failures: Default::default(),
            acquainted: Default::default(),
        }
    }

    /// Counts a failure of `uid` and returns how many came before it.
    pub fn record_failure(&self, uid: &str) -> u32 {
        let mut failures = self.failures.lock().expect("failure counts are never poisoned");
        let count = failures.entry(uid.to_string()).or_default();
        *count += 1;
        *count - 1
    }

    /// Forgets the failures of `uid`: it succeeded, or its object is gone.
    pub fn record_success(&self, uid: &str) {
        self.failures.lock().expect("failure counts are never poisoned").remove(uid);
    }

    /// Whether this is the first reconcile of `uid` in this process; from now on it is not.
    pub fn first_sight(&self, uid: &str) -> bool {
        self.acquainted.lock().expect("never poisoned").insert(uid.to_string())
    }

    /// Everything kept for `uid`, whose object is gone.
    pub fn forget(&self, uid: &str) {
        self.record_success(uid);
        self.acquainted.lock().expect("never poisoned").remove(uid);
    }
}
