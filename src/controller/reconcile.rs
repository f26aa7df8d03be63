//! One reconcile of one object: ask `decide` what to do, do it, report it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::DynamicObject;
use kube::runtime::controller::Action;
use kube::runtime::events::{EventType, Recorder};

use super::cluster::Cluster;
use super::conditions::{Outcome, carry_transition_times, conditions_for, transition_event};
use super::context::Context;
use super::decide::{self, Claimant, DeleteProgress, Deletion, Lifecycle, Source};
use super::errors::{Retry, backoff_delay, classify, is_instance_exists};
use crate::api::{IdentityCenterInstance, IdentityCenterInstanceStatus, ManagementPolicy};
use crate::sso::{CreateInstance, ErrorKind, Instance, RoleRef, SsoError, Target, account_of_role};

/// How long a refused object waits before it looks again whether its account became free.
const CLAIM_RECHECK: Duration = Duration::from_secs(60);

/// Only the Kubernetes API can fail a reconcile: everything from AWS is
/// classified and reported in the conditions instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
}

/// When to look at the object again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Requeue {
    After(Duration),
    OnChange,
}

/// Why a reconcile ended before its last step.
enum Stop {
    Report(Outcome, Requeue),
    Sso(SsoError),
    Kube(kube::Error),
}

impl From<SsoError> for Stop {
    fn from(e: SsoError) -> Self {
        Self::Sso(e)
    }
}

impl From<kube::Error> for Stop {
    fn from(e: kube::Error) -> Self {
        Self::Kube(e)
    }
}

pub async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    let result = match super::parse(&object) {
        Ok(object) => Reconcile::new(object, &ctx, recorder).run().await,
        Err(error) => super::malformed::report(&object, &ctx, recorder, &error).await,
    };
    let (label, seconds) = (result.as_ref().map_or("error", |(label, _)| label), started.elapsed().as_secs_f64());
    ctx.metrics.reconciled(label, seconds);
    result.map(|(_, action)| action)
}

struct Reconcile<'a> {
    ctx: &'a Context,
    object: IdentityCenterInstance,
    cluster: Cluster,
    /// The status being built; written at the end, and earlier where a crash must not lose it.
    status: IdentityCenterInstanceStatus,
    previous_conditions: Vec<Condition>,
}

impl<'a> Reconcile<'a> {
    fn new(object: IdentityCenterInstance, ctx: &'a Context, recorder: Recorder) -> Self {
        let status = object.status.clone().unwrap_or_default();
        let previous_conditions = status.conditions.clone();
        let cluster = Cluster::new(ctx.client.clone(), recorder, object.clone());
        Self { ctx, object, cluster, status, previous_conditions }
    }

    fn uid(&self) -> String {
        self.object.uid().unwrap_or_default()
    }

    async fn run(mut self) -> Result<(&'static str, Action), Error> {
        let result = if self.object.metadata.deletion_timestamp.is_some() {
            match self.delete().await {
                Ok(None) => return Ok(("released", Action::await_change())),
                Ok(Some(done)) => Ok(done),
                Err(stop) => Err(stop),
            }
        } else {
            self.apply().await
        };
        let (outcome, requeue) = match result {
            Ok(done) => done,
            Err(Stop::Report(outcome, requeue)) => (outcome, requeue),
            Err(Stop::Kube(error)) => return Err(error.into()),
            Err(Stop::Sso(error)) => self.failed(&error),
        };
        if !matches!(outcome, Outcome::Retrying { .. }) {
            self.ctx.record_success(&self.uid());
        }
        self.finish(&outcome).await?;
        let label = match outcome {
            Outcome::Ready { .. } => "ready",
            Outcome::Progressing { .. } => "progressing",
            Outcome::Retrying { .. } => "retrying",
            Outcome::Stalled { .. } => "stalled",
        };
        let action = match requeue {
            Requeue::After(delay) => Action::requeue(delay),
            Requeue::OnChange => Action::await_change(),
        };
        Ok((label, action))
    }

    /// Classifies an AWS failure into the outcome to report and the next attempt.
    fn failed(&self, error: &SsoError) -> (Outcome, Requeue) {
        let classified = classify(error);
        self.ctx.metrics.error(classified.reason);
        tracing::warn!(object = %self.object.name_any(), reason = classified.reason, %error, "reconcile failed");
        match classified.retry {
            Retry::Never => {
                (Outcome::Stalled { reason: classified.reason, message: classified.message }, Requeue::OnChange)
            }
            retry => {
                let attempt = self.ctx.record_failure(&self.uid());
                let delay = backoff_delay(retry, attempt, rand::random::<f64>()).unwrap_or(CLAIM_RECHECK);
                (Outcome::Retrying { reason: classified.reason, message: classified.message }, Requeue::After(delay))
            }
        }
    }

    /// Writes conditions, emits the transition's event, keeps the export current.
    async fn finish(&mut self, outcome: &Outcome) -> Result<(), Error> {
        let generation = self.object.metadata.generation.unwrap_or_default();
        let conditions = conditions_for(outcome, generation, Timestamp::now());
        self.status.conditions = carry_transition_times(&self.previous_conditions, conditions);
        self.status.observed_generation = Some(generation);
        if let Some((warning, reason, note)) = transition_event(&self.previous_conditions, outcome) {
            let type_ = if warning { EventType::Warning } else { EventType::Normal };
            self.cluster.event(type_, reason, note).await;
        }
        if self.object.status.as_ref() != Some(&self.status) {
            self.cluster.write_status(&self.status).await?;
        }
        if let (Some(export), Some(arn)) = (&self.object.spec.export_to, &self.status.instance_arn) {
            let data = [
                ("instanceArn", Some(arn)),
                ("identityStoreId", self.status.identity_store_id.as_ref()),
                ("ownerAccountId", self.status.owner_account_id.as_ref()),
                ("region", self.status.region.as_ref()),
            ];
            let data = data.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?.clone()))).collect();
            self.cluster.export(&export.config_map_name, data).await?;
        }
        Ok(())
    }

    fn target(&self, region: &str) -> Target {
        let role = self
            .object
            .spec
            .credentials
            .as_ref()
            .map(|c| RoleRef { role_arn: c.role_arn.clone(), external_id: c.external_id.clone() });
        Target { region: region.to_string(), role }
    }

    /// The account an object acts in: its role's, else the operator's own.
    async fn account_of(&self, object: &IdentityCenterInstance, region: &str) -> Result<String, SsoError> {
        if let Some(account) = object.spec.credentials.as_ref().and_then(|c| account_of_role(&c.role_arn)) {
            return Ok(account.to_string());
        }
        let mut own = self.ctx.own_account.lock().await;
        if let Some(account) = own.as_ref() {
            return Ok(account.clone());
        }
        let account = self.ctx.sso.caller_account(&Target { region: region.into(), role: None }).await?;
        *own = Some(account.clone());
        Ok(account)
    }

    async fn apply(&mut self) -> Result<(Outcome, Requeue), Stop> {
        let manage = self.object.spec.management_policy == ManagementPolicy::Manage;
        if manage && !self.cluster.has_finalizer() {
            self.cluster.add_finalizer().await?;
        }
        let default_region = self.ctx.settings.default_region.as_deref();
        let plan = decide::plan(&self.object.spec, self.object.status.as_ref(), default_region)
            .map_err(|outcome| Stop::Report(outcome, Requeue::OnChange))?;
        let target = self.target(&plan.region);
        let account = self.account_of(&self.object, &plan.region).await?;
        self.status.target_account_id = Some(account.clone());
        let arn = match plan.source {
            Source::Recorded(arn) => arn,
            Source::Adopt(arn) if manage => {
                self.claim(&account, &plan.region).await?;
                arn
            }
            Source::Adopt(arn) => arn,
            Source::Discover => self.discover(&target, &account).await?,
            Source::Create => {
                self.claim(&account, &plan.region).await?;
                self.create(&target, &account).await?
            }
        };
        let Some(instance) = self.describe(&target, &arn).await? else {
            return Err(self.vanished(&arn));
        };
        self.record(&instance, &plan.region);
        match decide::lifecycle(&instance) {
            Lifecycle::Wait(outcome) => {
                return Ok((outcome, Requeue::After(decide::poll_delay(self.since_creation()))));
            }
            Lifecycle::Failed(outcome) => return Ok((outcome, Requeue::OnChange)),
            Lifecycle::Active => {}
        }
        if manage {
            self.sync(&target, &instance).await?;
        }
        let resync = Requeue::After(self.ctx.settings.resync_interval);
        let outcome = if manage {
            Outcome::Ready {
                reason: "InstanceActive",
                message: format!("Instance {arn} is ACTIVE and in sync with the spec"),
            }
        } else {
            Outcome::Ready {
                reason: "Observed",
                message: format!("Instance {arn} is ACTIVE (observed, never written)"),
            }
        };
        Ok((outcome, resync))
    }

    /// Refuses this object when another one already manages the account.
    async fn claim(&self, account: &str, region: &str) -> Result<(), Stop> {
        let objects = self.cluster.all_objects(&self.ctx.settings.namespaces).await?;
        let mut others = Vec::new();
        for other in objects.iter().filter(|o| o.spec.management_policy == ManagementPolicy::Manage) {
            let other_account = self.account_of(other, region).await?;
            others.push(claimant(other, other_account));
        }
        let me = claimant(&self.object, account.to_string());
        match decide::claim_holder(&me, &others) {
            None => Ok(()),
            Some(holder) => Err(Stop::Report(
                Outcome::Stalled {
                    reason: "AccountAlreadyManaged",
                    message: format!(
                        "Account {account} is already managed by IdentityCenterInstance {}; AWS allows one \
                         instance per account. Delete one of the two objects, or point this one at another \
                         account with spec.credentials.roleArn.",
                        holder.key
                    ),
                },
                Requeue::After(CLAIM_RECHECK),
            )),
        }
    }

    /// ObserveOnly without an ARN: the instance ListInstances shows for the account.
    async fn discover(&self, target: &Target, account: &str) -> Result<String, Stop> {
        let instances = self.ctx.sso.list_instances(target).await?;
        match decide::observed_instance(&instances, account) {
            Some(instance) => Ok(instance.arn.clone()),
            None => Err(Stop::Report(
                Outcome::Retrying {
                    reason: "InstanceNotFound",
                    message: format!(
                        "ListInstances shows no instance for account {account} in {}; nothing to observe yet.",
                        target.region
                    ),
                },
                Requeue::After(self.ctx.settings.resync_interval),
            )),
        }
    }

    /// CreateInstance, exactly once per object. The marker written before the
    /// call lets a restarted operator find the instance instead of creating
    /// another; the ARN is written the moment the call returns.
    async fn create(&mut self, target: &Target, account: &str) -> Result<String, Stop> {
        let fresh = self.cluster.fresh().await?.status.unwrap_or_default();
        if let Some(arn) = fresh.instance_arn {
            self.status.instance_arn = Some(arn.clone());
            self.status.region = fresh.region;
            self.status.create_requested_at = fresh.create_requested_at;
            return Ok(arn);
        }
        if fresh.create_requested_at.is_some() {
            let instances = self.ctx.sso.list_instances(target).await?;
            if let Some(found) = decide::owned_by(&instances, account) {
                self.status.create_requested_at = fresh.create_requested_at;
                self.record_arn(&found.arn, &target.region).await?;
                let note = format!("Found instance {} created before a restart; recorded its ARN", found.arn);
                self.cluster.event(EventType::Normal, "InstanceRecovered", note).await;
                return Ok(found.arn.clone());
            }
        }
        self.status.create_requested_at = Some(Time(Timestamp::now()));
        self.status.region = Some(target.region.clone());
        self.cluster.write_status(&self.status).await?;
        let input = CreateInstance {
            client_token: self.uid(),
            name: self.object.spec.name.clone(),
            tags: self.object.spec.tags.clone(),
        };
        match self.ctx.sso.create_instance(target, &input).await {
            Ok(arn) => {
                self.record_arn(&arn, &target.region).await?;
                let note = format!("CreateInstance returned {arn} in {}", target.region);
                self.cluster.event(EventType::Normal, "CreateRequested", note).await;
                Ok(arn)
            }
            Err(error) if is_instance_exists(&error) => Err(self.instance_exists(target, account, error).await),
            Err(error) => Err(error.into()),
        }
    }

    async fn record_arn(&mut self, arn: &str, region: &str) -> Result<(), kube::Error> {
        self.status.instance_arn = Some(arn.to_string());
        self.status.region = Some(region.to_string());
        self.cluster.write_status(&self.status).await
    }

    /// The account already has an instance: name it and say how to adopt it.
    async fn instance_exists(&self, target: &Target, account: &str, error: SsoError) -> Stop {
        let instances = match self.ctx.sso.list_instances(target).await {
            Ok(instances) => instances,
            Err(_) => return error.into(),
        };
        let Some(existing) = decide::owned_by(&instances, account) else { return error.into() };
        Stop::Report(
            Outcome::Stalled {
                reason: "InstanceAlreadyExists",
                message: format!(
                    "Account {account} already has instance {} and AWS allows one per account. To manage it, \
                     set spec.instanceArn: {}",
                    existing.arn, existing.arn
                ),
            },
            Requeue::OnChange,
        )
    }

    /// DescribeInstance; None when the instance is gone. AWS answers
    /// AccessDenied for a deleted instance, so ListInstances tells the two apart.
    async fn describe(&self, target: &Target, arn: &str) -> Result<Option<Instance>, Stop> {
        match self.ctx.sso.describe_instance(target, arn).await {
            Ok(instance) => Ok(Some(instance)),
            Err(error) if error.kind == ErrorKind::AccessDenied => {
                let listed = self.ctx.sso.list_instances(target).await?;
                if listed.iter().any(|i| i.arn == arn) { Err(error.into()) } else { Ok(None) }
            }
            Err(error) => Err(error.into()),
        }
    }

    fn vanished(&mut self, arn: &str) -> Stop {
        self.status.state = None;
        self.status.state_reason = None;
        Stop::Report(
            Outcome::Stalled {
                reason: "InstanceNotFound",
                message: format!(
                    "Instance {arn} no longer exists in AWS; it was deleted outside Kubernetes. The operator does \
                     not re-create it: delete this object, then create a new one to get a new instance."
                ),
            },
            Requeue::After(self.ctx.settings.resync_interval),
        )
    }

    fn record(&mut self, instance: &Instance, region: &str) {
        let status = &mut self.status;
        status.instance_arn = Some(instance.arn.clone());
        status.region = Some(region.to_string());
        status.identity_store_id = instance.identity_store_id.clone();
        status.owner_account_id = instance.owner_account_id.clone();
        status.state = Some(instance.state.as_str().to_string());
        status.state_reason = instance.state_reason.clone();
        status.created_date = instance.created_date.map(Time);
    }

    fn since_creation(&self) -> Duration {
        let started =
            self.status.create_requested_at.as_ref().map(|t| t.0).or(self.status.created_date.as_ref().map(|t| t.0));
        let elapsed = started.map(|t| Timestamp::now().duration_since(t));
        elapsed.and_then(|d| Duration::try_from(d).ok()).unwrap_or_default()
    }

    /// Puts the spec's name and tags on an ACTIVE instance, sending only the difference.
    async fn sync(&mut self, target: &Target, instance: &Instance) -> Result<(), Stop> {
        let spec = &self.object.spec;
        if let Some(name) = decide::rename(spec, instance) {
            self.ctx.sso.update_instance_name(target, &instance.arn, name).await?;
            let note = format!("Renamed instance {} from {:?} to {name:?}", instance.arn, instance.name);
            self.cluster.event(EventType::Normal, "InstanceRenamed", note).await;
        }
        let actual = self.ctx.sso.list_tags(target, &instance.arn).await?;
        let changes = decide::tag_changes(&spec.tags, &actual);
        if !changes.set.is_empty() {
            self.ctx.sso.tag_instance(target, &instance.arn, &changes.set).await?;
        }
        if !changes.remove.is_empty() {
            self.ctx.sso.untag_instance(target, &instance.arn, &changes.remove).await?;
        }
        if !changes.is_empty() {
            let set: Vec<&str> = changes.set.keys().map(String::as_str).collect();
            let note = format!("Tags set: {set:?}; removed: {:?}", changes.remove);
            self.cluster.event(EventType::Normal, "TagsUpdated", note).await;
        }
        Ok(())
    }

    /// The object is being deleted: apply the deletion policy; None once released.
    async fn delete(&mut self) -> Result<Option<(Outcome, Requeue)>, Stop> {
        if !self.cluster.has_finalizer() {
            return Ok(None);
        }
        let spec = self.object.spec.clone();
        let region = self.status.region.clone().or(spec.region.clone()).or(self.ctx.settings.default_region.clone());
        let mut arn = self.status.instance_arn.clone();
        if let (None, Some(_), Some(region)) = (&arn, &self.status.create_requested_at, &region) {
            // A crash may have cut in between CreateInstance and recording its ARN.
            let target = self.target(region);
            let account = self.account_of(&self.object, region).await?;
            let instances = self.ctx.sso.list_instances(&target).await?;
            arn = decide::owned_by(&instances, &account).map(|i| i.arn.clone());
        }
        let (arn, region) = match decide::deletion(&spec, arn.as_deref()) {
            Deletion::Release(reason) => {
                self.release(reason, arn.as_deref()).await?;
                return Ok(None);
            }
            Deletion::Delete(arn) => (arn, region.ok_or_else(unknown_region_for_delete)?),
        };
        let target = self.target(&region);
        let instance = self.describe(&target, &arn).await?;
        if let Some(instance) = &instance {
            self.record(instance, &region);
        }
        let deleting = Outcome::Progressing { reason: "Deleting", message: format!("Deleting instance {arn}") };
        let waited = self.object.metadata.deletion_timestamp.as_ref().map(|t| Timestamp::now().duration_since(t.0));
        let poll = decide::poll_delay(waited.and_then(|d| Duration::try_from(d).ok()).unwrap_or_default());
        match decide::delete_progress(instance.as_ref()) {
            DeleteProgress::Gone => {
                let note = format!("Instance {arn} is deleted");
                self.cluster.event(EventType::Normal, "InstanceDeleted", note).await;
                self.cluster.remove_finalizer().await?;
                Ok(None)
            }
            DeleteProgress::Wait => Ok(Some((deleting, Requeue::After(poll)))),
            DeleteProgress::SendDelete => {
                self.ctx.sso.delete_instance(&target, &arn).await?;
                self.status.state = Some("DELETE_IN_PROGRESS".into());
                self.cluster
                    .event(EventType::Normal, "DeleteRequested", format!("DeleteInstance sent for {arn}"))
                    .await;
                Ok(Some((deleting, Requeue::After(poll))))
            }
        }
    }

    async fn release(&self, reason: &'static str, arn: Option<&str>) -> Result<(), Stop> {
        let instance = arn.unwrap_or("no instance");
        let note = match reason {
            "Retained" => format!("deletionPolicy Retain: {instance} is left in AWS"),
            "ObserveOnly" => format!("ObserveOnly: {instance} is left untouched"),
            _ => "No instance was ever created for this object".to_string(),
        };
        self.cluster.event(EventType::Normal, reason, note).await;
        self.cluster.remove_finalizer().await?;
        Ok(())
    }
}

fn unknown_region_for_delete() -> Stop {
    let message = "The instance's region is not recorded; set spec.region (or --default-region) so that it can be \
                   deleted, or set deletionPolicy: Retain to release the object.";
    Stop::Report(Outcome::Stalled { reason: "RegionUnknown", message: message.into() }, Requeue::OnChange)
}

fn claimant(object: &IdentityCenterInstance, account: String) -> Claimant {
    Claimant {
        key: format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any()),
        account,
        has_instance: object.status.as_ref().is_some_and(|s| s.instance_arn.is_some()),
        created: object.metadata.creation_timestamp.as_ref().map(|t| t.0),
    }
}
