//! AddRegion, RemoveRegion, DescribeRegion and ListRegions: multi-Region
//! replication of an organization instance with a multi-Region customer
//! managed key, one workflow at a time, always from the primary Region.

use std::time::Instant;

use serde_json::{Value, json};

use super::instance::Replica;
use super::{Caller, SsoState, page, page_start};
use crate::config::Config;
use crate::error::ApiError;
use crate::validate::{INSTANCE_ARN, Input, REGION_NAME};

const REGION_PAGE: usize = 100;

fn instance_and_region<'a>(input: &Input<'a>) -> Result<(&'a str, &'a str), ApiError> {
    let arn = input.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN)?;
    let region = input.required_string("RegionName", 1, 32, &REGION_NAME)?;
    Ok((arn, region))
}

fn region_not_found(region: &str, arn: &str) -> ApiError {
    ApiError::not_found(format!("Region {region} is not a Region of instance {arn}"))
}

impl SsoState {
    pub(super) fn add_region(
        &mut self,
        config: &Config,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let (arn, region) = instance_and_region(&input)?;
        let instance = self.settled(caller, arn, "AddRegion", now)?;
        if !instance.organization {
            return Err(ApiError::validation("Multi-Region replication is supported only for organization instances"));
        }
        if region == instance.region {
            return Err(ApiError::validation(format!("{region} is the primary Region of instance {arn}")));
        }
        instance.refuse_if_busy(now)?;
        if !instance.key.carries_regions(now) {
            return Err(ApiError::validation(
                "Adding a Region needs the instance to be encrypted with a multi-Region customer managed KMS key",
            ));
        }
        if instance.replicas.iter().any(|r| r.name == region) {
            return Err(ApiError::conflict(format!("Region {region} is already a Region of instance {arn}")));
        }
        instance.replicas.push(Replica {
            name: region.to_string(),
            added_epoch: super::epoch_now(),
            added: now,
            takes: super::seconds(config.region_add_seconds),
            removing: None,
        });
        Ok(json!({"Status": "ADDING"}))
    }

    pub(super) fn remove_region(
        &mut self,
        config: &Config,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let (arn, region) = instance_and_region(&input)?;
        let instance = self.settled(caller, arn, "RemoveRegion", now)?;
        if region == instance.region {
            return Err(ApiError::validation(format!(
                "{region} is the primary Region of instance {arn}; it cannot be removed"
            )));
        }
        instance.refuse_if_busy(now)?;
        let replica =
            instance.replicas.iter_mut().find(|r| r.name == region).ok_or_else(|| region_not_found(region, arn))?;
        replica.removing = Some((now, super::seconds(config.region_remove_seconds)));
        Ok(json!({"Status": "REMOVING"}))
    }

    pub(super) fn describe_region(&self, caller: &Caller, body: &Value, now: Instant) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let (arn, region) = instance_and_region(&input)?;
        let instance = self.visible(caller, arn, "DescribeRegion", now)?;
        let regions = instance.regions(now);
        regions.into_iter().find(|r| r["RegionName"] == region).ok_or_else(|| region_not_found(region, arn))
    }

    pub(super) fn list_regions(&self, caller: &Caller, body: &Value, now: Instant) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let arn = input.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN)?;
        let limit = input.integer("MaxResults", 1, 100)?.map_or(REGION_PAGE, |n| n as usize);
        let start = page_start(&input)?;
        let instance = self.visible(caller, arn, "ListRegions", now)?;
        Ok(page(instance.regions(now), start, limit, "Regions"))
    }
}
