//! Bringing an object to its spec: find its instance, follow its lifecycle,
//! put the spec's name and tags on it, publish its ids.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::events::EventType;

use super::{Ending, Failure, Reconcile, Requeue, Step};
use crate::api::{INSTANCE_ARN, InstanceOwnership, ManagementPolicy, StartedWorkflow};
use crate::controller::claims::key_of;
use crate::controller::conditions::{self, Outcome, Reason};
use crate::controller::instance::cluster::{EXPORT_OF, ExportError};
use crate::controller::instance::decide::access_control;
use crate::controller::instance::decide::workflows::{self, Verdict};
use crate::controller::instance::decide::{self, Claimant, Lifecycle, Source};
use crate::controller::instance::observed;
use crate::controller::instance::ownership::{Made, made_by};
use crate::sso::{AttributeChange, ErrorKind, Instance, RegionScope, Target};

/// How long a refused object waits before it looks again whether its account became free.
pub(super) const CLAIM_RECHECK: Duration = Duration::from_secs(60);
/// How long a claim waits for every watch to list before it is decided.
pub(super) const CLAIM_WAIT: Duration = Duration::from_secs(2);
/// Right after CreateInstance, AWS may not show the instance yet.
const VISIBILITY_GRACE: Duration = Duration::from_secs(300);

impl Reconcile<'_> {
    pub(super) async fn apply(&mut self) -> Step {
        let manage = self.object.spec.management_policy == ManagementPolicy::Manage;
        let default_region = self.ctx.settings.default_region.as_deref();
        let object = self.object.clone();
        let annotated_arn = object.annotations().get(INSTANCE_ARN).map(String::as_str);
        let plan = match decide::plan(&object.spec, object.status.as_ref(), annotated_arn, default_region) {
            Ok(plan) => plan,
            Err(outcome) => return Ok(Ending::Report(outcome, Requeue::OnChange)),
        };
        let target = self.target(&plan.region);
        let account = self.account(&plan.region).await?;
        if let Some(outcome) = decide::account_changed(self.object.status.as_ref(), &account) {
            return Ok(Ending::Report(outcome, Requeue::OnChange));
        }
        self.status.target_account_id = Some(account.clone());
        if manage {
            // The claim comes first: an object that may not act on the account gets no finalizer either.
            match self.claim(&account, &plan.region).await? {
                Claim::Held => {}
                Claim::NotYetKnown => return Ok(Ending::Defer(CLAIM_WAIT)),
                Claim::HeldBy(holder) => return Ok(already_managed(&account, &holder)),
            }
            if !self.cluster.has_finalizer() {
                self.cluster.add_finalizer().await?;
            }
            if self.status.owned_instance().is_none() {
                observed::forget_instance(&mut self.status);
            }
        }
        let ownership = decide::ownership(&plan.source, self.status.ownership);
        let restoring = matches!(plan.source, Source::Restore(_));
        let arn = match plan.source {
            Source::Recorded(arn) | Source::Adopt(arn) | Source::Observe(arn) | Source::Restore(arn) => arn,
            Source::Discover => match self.discover(&target, &account).await? {
                Some(arn) => arn,
                None => return Ok(nothing_to_observe(&account, &target.region)),
            },
            Source::Create => return self.create(&target, &account).await,
        };
        let Some(instance) = self.describe(&target, &arn).await? else {
            return Ok(self.vanished(&arn));
        };
        if manage && let Some(outcome) = decide::foreign_owner(&instance, &account) {
            return Ok(Ending::Report(outcome, Requeue::OnChange));
        }
        if restoring && let Some(refused) = self.confirm_restore(&target, &instance).await? {
            return Ok(refused);
        }
        self.record(&instance, &plan.region);
        self.status.ownership = Some(ownership);
        if ownership == InstanceOwnership::Created && annotated_arn != Some(instance.arn.as_str()) {
            // Kept outside status too, so that a restore from backup finds the instance again.
            self.cluster.annotate(INSTANCE_ARN, &instance.arn).await?;
        }
        match decide::lifecycle(&instance) {
            Lifecycle::Wait(outcome) => {
                return Ok(Ending::Report(outcome, Requeue::After(decide::poll_delay(self.since_creation()))));
            }
            Lifecycle::Failed(outcome) => return Ok(Ending::Report(outcome, Requeue::OnChange)),
            Lifecycle::Active => {}
        }
        if manage {
            self.sync(&target, &instance).await?;
        }
        if let Some(failed) = self.export().await {
            return Ok(failed);
        }
        if !manage {
            let message = format!("Instance {arn} is ACTIVE (observed, never written)");
            return Ok(Ending::Report(Outcome::Ready { reason: Reason::Observed, message }, Requeue::Resync));
        }
        self.advance(&target, &instance, &plan.region).await
    }

    /// The key, permission sets, network controls and Regions: waits for the
    /// workflow AWS is running, else starts the next one; once they are in
    /// place, the access control attributes; then reports the instance Ready.
    async fn advance(&mut self, target: &Target, instance: &Instance, calls_region: &str) -> Step {
        let arn = &instance.arn;
        let generation = self.object.metadata.generation.unwrap_or_default();
        let last = self.status.last_workflow.clone();
        let facts = workflows::Facts {
            instance,
            calls_region,
            generation,
            last: last.as_ref().map(|started| (started, super::elapsed_since(Some(&started.started_at)))),
            recorded_network: self.object.status.as_ref().and_then(|s| s.network.as_ref()),
        };
        let poll = Requeue::After(decide::poll_delay(self.updating_for()));
        match workflows::next(&self.object.spec, &facts) {
            Verdict::InSync { retained } => {
                if let Some(ending) = self.access_control(target, arn).await? {
                    return Ok(ending);
                }
                let mut message = format!("Instance {arn} is ACTIVE and in sync with the spec");
                if !retained.is_empty() {
                    message.push_str(&format!(
                        "; Regions {retained:?} are not in spec.regions and kept (regionRemovalPolicy Retain)"
                    ));
                }
                Ok(Ending::Report(Outcome::Ready { reason: Reason::InstanceActive, message }, Requeue::Resync))
            }
            Verdict::Wait(outcome) => Ok(Ending::Report(outcome, poll)),
            // A drift check looks again: the cause may be fixed in AWS.
            Verdict::Stalled(outcome) => Ok(Ending::Report(outcome, Requeue::Resync)),
            Verdict::Start(workflow) => {
                self.ctx.sso.start_workflow(target, arn, &workflow).await?;
                self.status.last_workflow = Some(StartedWorkflow {
                    name: workflows::Named(&workflow).to_string(),
                    generation,
                    started_at: observed::whole_seconds(Timestamp::now()),
                });
                let (reason, note) = workflows::announcement(&workflow, arn);
                self.report(EventType::Normal, workflow.operation(), reason, note.clone()).await;
                Ok(Ending::Report(Outcome::Progressing { reason: Reason::Updating, message: note }, poll))
            }
        }
    }

    /// Attribute-based access control, where the spec asks for it: one
    /// change, then a look at what AWS made of it. Some(ending) while it is
    /// not in place.
    async fn access_control(&mut self, target: &Target, arn: &str) -> Result<Option<Ending>, Failure> {
        let Some(spec) = self.object.spec.access_control_attributes.clone() else {
            // Absent leaves AWS's alone, and costs no call to read it.
            self.status.access_control_attributes = None;
            return Ok(None);
        };
        let held = self.ctx.sso.describe_access_control_attributes(target, arn).await?;
        let generation = self.object.metadata.generation.unwrap_or_default();
        let sent_for = self.status.access_control_attributes.as_ref().and_then(|a| a.sent_for_generation);
        observed::record_access_control(&mut self.status, held.as_ref(), sent_for);
        let recorded = self.object.status.as_ref().and_then(|s| s.access_control_attributes.as_ref());
        let facts = access_control::Facts { arn, held: held.as_ref(), generation, sent_for, recorded };
        let poll = Requeue::After(decide::poll_delay(self.updating_for()));
        match access_control::next(Some(&spec), &facts) {
            access_control::Step::InSync => Ok(None),
            access_control::Step::Wait(outcome) => Ok(Some(Ending::Report(outcome, poll))),
            // Drift checks go on: the name, tags and workflows came first and stay repaired.
            access_control::Step::Stalled(outcome) => Ok(Some(Ending::Report(outcome, Requeue::Resync))),
            access_control::Step::Change(change) => {
                self.ctx.sso.change_access_control_attributes(target, arn, &change).await?;
                if let Some(observed) = self.status.access_control_attributes.as_mut() {
                    observed.sent_for_generation = Some(generation);
                }
                let note = match &change {
                    AttributeChange::Create(attributes) | AttributeChange::Update(attributes) => {
                        let keys: Vec<&str> = attributes.iter().map(|a| a.key.as_str()).collect();
                        format!("Set the access control attributes of instance {arn}: {keys:?}")
                    }
                    AttributeChange::Delete => {
                        format!("Removed the attribute-based access control configuration of instance {arn}")
                    }
                };
                self.report(EventType::Normal, change.operation(), "AccessControlAttributesUpdated", note.clone())
                    .await;
                Ok(Some(Ending::Report(Outcome::Progressing { reason: Reason::Updating, message: note }, poll)))
            }
        }
    }

    /// A restored object takes its annotated instance back only if the
    /// instance's ownership tags name this cluster, namespace and object.
    async fn confirm_restore(&self, target: &Target, instance: &Instance) -> Result<Option<Ending>, Failure> {
        let tags = self.ctx.sso.list_tags(target, &instance.arn).await?;
        let maker = self.maker();
        if made_by(&tags, &maker) == Made::ByThisObject {
            return Ok(None);
        }
        Ok(Some(Ending::stalled(
            Reason::RestoreNotConfirmed,
            format!(
                "The annotation {INSTANCE_ARN} names {}, but its ownership tags do not name IdentityCenterInstance \
                 {}/{} of cluster {}; the operator does not take it over. Remove the annotation to create a new \
                 instance, or adopt this one with spec.instanceArn.",
                instance.arn, maker.namespace, maker.name, maker.cluster
            ),
            Requeue::OnChange,
        )))
    }

    /// How long the instance has been Updating, by the Ready condition.
    fn updating_for(&self) -> Duration {
        let ready = self.previous_conditions.iter().find(|c| c.type_ == conditions::READY);
        let since = ready.filter(|c| c.reason == Reason::Updating.as_str()).map(|c| &c.last_transition_time);
        since.map_or(Duration::ZERO, |time| super::elapsed_since(Some(time)))
    }

    /// Whether this object holds the account's claim, decided from the claim
    /// index that the watch keeps, without an API call.
    pub(super) async fn claim(&self, account: &str, region: &str) -> Result<Claim, Failure> {
        let claims = &self.ctx.claims;
        if !claims.is_complete() {
            // A watch has not listed yet, or tenancy has not said how an object acts: it may hold this account.
            return Ok(Claim::NotYetKnown);
        }
        let operator_account = match claims.has_operator_claims() {
            true => Some(self.operator_account(region).await?),
            false => None,
        };
        let others = claims.claimants(account, operator_account.as_deref());
        let me = Claimant {
            key: key_of(self.object.as_ref()),
            account: account.to_string(),
            has_instance: self.object.status.as_ref().is_some_and(|s| s.owned_instance().is_some()),
            created: self.object.metadata.creation_timestamp.as_ref().map(|t| t.0),
        };
        Ok(match decide::claim_holder(&me, &others) {
            None => Claim::Held,
            Some(holder) => Claim::HeldBy(holder.key.clone()),
        })
    }

    /// ObserveOnly without an ARN: the instance ListInstances shows for the account, if any.
    async fn discover(&self, target: &Target, account: &str) -> Result<Option<String>, Failure> {
        let instances = self.ctx.sso.list_instances(target, RegionScope::CurrentRegion).await?;
        Ok(decide::observed_instance(&instances, account).map(|instance| instance.arn.clone()))
    }

    /// DescribeInstance; None when the instance is gone. AWS answers
    /// AccessDenied for a deleted instance, so ListInstances tells the two apart.
    pub(super) async fn describe(&self, target: &Target, arn: &str) -> Result<Option<Instance>, Failure> {
        match self.ctx.sso.describe_instance(target, arn).await {
            Ok(instance) => Ok(Some(instance)),
            Err(error) if error.kind == ErrorKind::AccessDenied => {
                let listed = self.ctx.sso.list_instances(target, RegionScope::CurrentRegion).await?;
                if listed.iter().any(|i| i.arn == arn) { Err(error.into()) } else { Ok(None) }
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The recorded instance is not there. Just after CreateInstance that is
    /// AWS's eventual consistency; later, a deletion outside Kubernetes.
    fn vanished(&mut self, arn: &str) -> Ending {
        let just_created = self.status.create_requested_at.is_some()
            && self.status.state.is_none()
            && self.since_creation() < VISIBILITY_GRACE;
        if just_created {
            let message = format!("Instance {arn} is not visible in AWS yet");
            return Ending::Report(
                Outcome::Progressing { reason: Reason::Creating, message },
                Requeue::After(decide::poll_delay(self.since_creation())),
            );
        }
        let region = self.status.region.clone().unwrap_or_default();
        observed::clear_lifecycle(&mut self.status);
        Ending::stalled(
            Reason::InstanceNotFound,
            format!(
                "Instance {arn} is not in AWS (region {region}): it was deleted outside Kubernetes, or never \
                 existed there. The operator does not re-create it: delete this object, then create a new one to \
                 get a new instance."
            ),
            Requeue::Resync,
        )
    }

    /// Puts the spec's name and tags on an ACTIVE instance, sending only the
    /// difference; removals first, so that the 75-tag limit holds throughout.
    async fn sync(&mut self, target: &Target, instance: &Instance) -> Result<(), Failure> {
        let spec = &self.object.spec;
        if let Some(name) = decide::rename(spec, instance) {
            self.ctx.sso.update_instance_name(target, &instance.arn, name).await?;
            let note = format!("Renamed instance {} from {:?} to {name:?}", instance.arn, instance.name);
            self.report(EventType::Normal, "UpdateInstance", "InstanceRenamed", note).await;
        }
        if !decide::tags_need_reading(self.object.status.as_ref(), self.object.metadata.generation) {
            return Ok(());
        }
        let actual = self.ctx.sso.list_tags(target, &instance.arn).await?;
        let changes = decide::tag_changes(&spec.tags, &actual);
        if !changes.remove.is_empty() {
            self.ctx.sso.untag_instance(target, &instance.arn, &changes.remove).await?;
        }
        if !changes.set.is_empty() {
            self.ctx.sso.tag_instance(target, &instance.arn, &changes.set).await?;
        }
        if !changes.is_empty() {
            let set: Vec<&str> = changes.set.keys().map(String::as_str).collect();
            let note = format!("Tags set: {set:?}; removed: {:?}", changes.remove);
            let action = if changes.set.is_empty() { "UntagResource" } else { "TagResource" };
            self.report(EventType::Normal, action, "TagsUpdated", note).await;
        }
        Ok(())
    }

    /// Publishes the ids in the spec.exportTo ConfigMap, which the operator
    /// made for this object; any other ConfigMap of that name is left as it
    /// is. A failure is reported (Some), not raised: the instance itself is fine.
    async fn export(&self) -> Option<Ending> {
        let export = self.object.spec.export_to.as_ref()?;
        let status = &self.status;
        let data = [
            ("instanceArn", status.instance_arn.as_ref()),
            ("identityStoreId", status.identity_store_id.as_ref()),
            ("identityStoreArn", status.identity_store_arn.as_ref()),
            ("ownerAccountId", status.owner_account_id.as_ref()),
            ("region", status.region.as_ref()),
        ];
        let data = data.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?.clone()))).collect();
        let name = &export.config_map_name;
        match self.cluster.export(name, data).await {
            Ok(()) => None,
            Err(ExportError::NotOurs) => Some(Ending::stalled(
                Reason::ExportConflict,
                format!(
                    "ConfigMap {name} already exists and the operator did not make it for this object (it lacks \
                     the label {EXPORT_OF}={}), so it is left untouched. Choose another \
                     spec.exportTo.configMapName; or, if that ConfigMap is yours to give up, delete it and the \
                     operator makes it anew.",
                    self.object.uid().unwrap_or_default()
                ),
                Requeue::OnChange,
            )),
            Err(ExportError::Kube(error)) => Some(Ending::Report(
                Outcome::Retrying {
                    reason: Reason::ExportFailed,
                    message: format!("Writing ConfigMap {name} failed: {error}"),
                },
                Requeue::After(CLAIM_RECHECK),
            )),
        }
    }
}

/// What the claim index says about this object and its account.
pub(super) enum Claim {
    Held,
    /// Another object holds it (`namespace/name`).
    HeldBy(String),
    NotYetKnown,
}

fn already_managed(account: &str, holder: &str) -> Ending {
    Ending::stalled(
        Reason::AccountAlreadyManaged,
        format!(
            "Account {account} is already managed by IdentityCenterInstance {holder}; AWS allows one instance per \
             account. Delete one of the two objects, or point this one at another account with \
             spec.credentials.roleArn."
        ),
        Requeue::After(CLAIM_RECHECK),
    )
}

/// ObserveOnly, and the account shows no instance yet.
fn nothing_to_observe(account: &str, region: &str) -> Ending {
    let message = format!("ListInstances shows no instance for account {account} in {region}; nothing to observe yet.");
    Ending::Report(Outcome::Retrying { reason: Reason::InstanceNotFound, message }, Requeue::Resync)
}
