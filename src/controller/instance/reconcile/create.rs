//! CreateInstance, exactly once per object. The marker written before the
//! call lets a restarted operator find the instance instead of creating
//! another; the ARN is written the moment the call returns, with the
//! conditions, as the reconcile's one next call.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::{Ending, Failure, Reconcile, Requeue, Step};
use crate::api::InstanceOwnership;
use crate::controller::conditions::{Outcome, Reason};
use crate::controller::errors::{created_nothing, is_instance_exists};
use crate::controller::instance::decide;
use crate::controller::instance::observed::whole_seconds;
use crate::controller::instance::ownership::{Made, made_by};
use crate::sso::{CreateInstance, ErrorKind, RegionScope, SsoError, Target};

impl Reconcile<'_> {
    /// Creates the instance, or finds the one an earlier attempt created. The
    /// ARN is only put in `self.status`: the reconcile ends here and writes
    /// it as its next call, before anything else reaches AWS or Kubernetes.
    pub(super) async fn create(&mut self, target: &Target, account: &str) -> Step {
        let poll = Requeue::After(decide::poll_delay(Duration::ZERO));
        if decide::create_refused(self.object.status.as_ref(), self.object.metadata.generation) {
            // Only a look: while the account's instance is there, this generation never sends CreateInstance again.
            let instances = self.ctx.sso.list_instances(target, RegionScope::AllRegions).await?;
            if let Some(existing) = decide::owned_by(&instances, account) {
                return Ok(Ending::Report(
                    decide::existing_instance(existing, account, &target.region),
                    Requeue::OnChange,
                ));
            }
            self.status.create_refused_generation = None;
        }
        // The watch cache may lag behind our own writes: read the object fresh.
        let fresh = self.cluster.fresh().await?.status.unwrap_or_default();
        if let Some(arn) = fresh.owned_instance() {
            let message = format!("Instance {arn} is recorded; following it");
            self.status.instance_arn = Some(arn.to_string());
            self.status.ownership = fresh.ownership;
            self.status.region = fresh.region;
            self.status.create_requested_at = fresh.create_requested_at;
            self.status.create_requested_generation = fresh.create_requested_generation;
            return Ok(Ending::Report(Outcome::Progressing { reason: Reason::Creating, message }, poll));
        }
        if let Some(requested) = &fresh.create_requested_at
            && let Some(found) = self.recover(target, account, requested.0).await?
        {
            self.status.create_requested_at = fresh.create_requested_at.clone();
            self.status.create_requested_generation = fresh.create_requested_generation;
            self.record_arn(&found, &target.region);
            let message = format!("Found instance {found} created before a restart; recorded its ARN");
            return Ok(Ending::Report(Outcome::Progressing { reason: Reason::InstanceRecovered, message }, poll));
        }
        // A retry keeps the first marker: the instance an earlier, unanswered
        // call may have created dates from then, and carries its tags.
        let generation = self.object.metadata.generation;
        self.status.create_requested_generation = match fresh.create_requested_at {
            Some(_) => fresh.create_requested_generation,
            None => generation,
        };
        self.status.create_requested_at =
            Some(fresh.create_requested_at.unwrap_or_else(|| whole_seconds(Timestamp::now())));
        self.status.region = Some(target.region.clone());
        self.cluster.write_status(&self.status).await?;
        let mut tags = self.object.spec.tags.clone();
        tags.extend(self.maker().tags());
        let input = CreateInstance { client_token: self.uid(), name: self.object.spec.name.clone(), tags };
        match self.ctx.sso.create_instance(target, &input).await {
            Ok(arn) => {
                self.record_arn(&arn, &target.region);
                let message =
                    format!("CreateInstance returned {arn} in {}; waiting for it to be ACTIVE", target.region);
                Ok(Ending::Report(Outcome::Progressing { reason: Reason::CreateRequested, message }, poll))
            }
            Err(error) => self.create_failed(target, account, error).await,
        }
    }

    /// After a crash between CreateInstance and recording its ARN: the
    /// instance that call created, if AWS shows it. Created after the marker
    /// (`decide::recovered`), and not tagged as another object's.
    pub(super) async fn recover(
        &self,
        target: &Target,
        account: &str,
        requested: Timestamp,
    ) -> Result<Option<String>, Failure> {
        let instances = self.ctx.sso.list_instances(target, RegionScope::AllRegions).await?;
        let Some(found) = decide::recovered(&instances, account, requested, &target.region) else { return Ok(None) };
        let tags = self.ctx.sso.list_tags(target, &found.arn).await?;
        Ok(match made_by(&tags, &self.maker()) {
            Made::ByThisObject | Made::Untagged => Some(found.arn.clone()),
            Made::BySomeoneElse => None,
        })
    }

    fn record_arn(&mut self, arn: &str, region: &str) {
        self.status.instance_arn = Some(arn.to_string());
        self.status.ownership = Some(InstanceOwnership::Created);
        self.status.region = Some(region.to_string());
    }

    /// AWS answered CreateInstance with an error. A definite refusal created
    /// nothing, so the marker goes: a later look-up must never take another
    /// instance of the account for this object's.
    async fn create_failed(&mut self, target: &Target, account: &str, error: SsoError) -> Step {
        // Fenced: this replica may write nothing, the marker's removal included; the leader carries on.
        if error.kind == ErrorKind::NotLeader {
            return Err(error.into());
        }
        if created_nothing(&error) {
            self.status.create_requested_at = None;
            self.status.create_requested_generation = None;
            // No instance lives anywhere for this object: spec.region may name another Region now.
            self.status.region = None;
            self.cluster.write_status(&self.status).await?;
        }
        if !is_instance_exists(&error) {
            return Err(error.into());
        }
        // The listing only explains the refusal; without it the refusal itself is reported.
        let Ok(instances) = self.ctx.sso.list_instances(target, RegionScope::AllRegions).await else {
            return Err(Failure::Sso(error));
        };
        let Some(existing) = decide::owned_by(&instances, account) else { return Err(Failure::Sso(error)) };
        self.status.create_refused_generation = self.object.metadata.generation;
        Ok(Ending::Report(decide::existing_instance(existing, account, &target.region), Requeue::OnChange))
    }
}
