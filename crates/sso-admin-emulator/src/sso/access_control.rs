//! Attribute-based access control of an instance: Create, Describe, Update and
//! DeleteInstanceAccessControlAttributeConfiguration. A new configuration is
//! CREATION_IN_PROGRESS for `accessControlAttributeSeconds`, then ENABLED, or
//! CREATION_FAILED where a `failAccessControlAttributes` rule matches.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Caller, SsoState};
use crate::config::Config;
use crate::error::ApiError;
use crate::validate::{ATTRIBUTE_KEY, ATTRIBUTE_SOURCE, INSTANCE_ARN, Input};

pub(super) const CREATE: &str = "CreateInstanceAccessControlAttributeConfiguration";
pub(super) const DESCRIBE: &str = "DescribeInstanceAccessControlAttributeConfiguration";
pub(super) const UPDATE: &str = "UpdateInstanceAccessControlAttributeConfiguration";
pub(super) const DELETE: &str = "DeleteInstanceAccessControlAttributeConfiguration";

const CONFIGURATION: &str = "InstanceAccessControlAttributeConfiguration";
const MAX_ATTRIBUTES: usize = 50;

pub(super) struct AccessControl {
    /// InstanceAccessControlAttributeConfiguration, as the last Create or Update sent it.
    configuration: Value,
    created: Instant,
    takes: Duration,
    /// StatusReason once creation has failed.
    failure: Option<String>,
}

impl AccessControl {
    fn status(&self, now: Instant) -> &'static str {
        match (now < self.created + self.takes, &self.failure) {
            (true, _) => "CREATION_IN_PROGRESS",
            (false, Some(_)) => "CREATION_FAILED",
            (false, None) => "ENABLED",
        }
    }

    fn describe(&self, now: Instant) -> Value {
        let status = self.status(now);
        let mut out = json!({ "Status": status, CONFIGURATION: self.configuration });
        if let (Some(reason), "CREATION_FAILED") = (&self.failure, status) {
            out["StatusReason"] = json!(reason);
        }
        out
    }
}

/// The request's configuration, validated by the model; each key may appear once.
fn requested_configuration(input: &Input) -> Result<Value, ApiError> {
    let attributes = input.structure(CONFIGURATION, |configuration| {
        let attributes = configuration.structures("AccessControlAttributes", 0, MAX_ATTRIBUTES, |attribute| {
            let key = attribute.required_string("Key", 1, 128, &ATTRIBUTE_KEY)?;
            let source = attribute.structure("Value", |value| {
                let source = value.strings("Source", (1, 1), (0, 256), &ATTRIBUTE_SOURCE)?;
                value.require("Source", source)
            })?;
            Ok(json!({"Key": key, "Value": {"Source": attribute.require("Value", source)?}}))
        })?;
        configuration.require("AccessControlAttributes", attributes)
    })?;
    let attributes = input.require(CONFIGURATION, attributes)?;
    let mut keys = HashSet::new();
    if let Some(duplicate) = attributes.iter().filter_map(|a| a["Key"].as_str()).find(|key| !keys.insert(*key)) {
        return Err(ApiError::validation(format!(
            "Duplicate access control attribute key {duplicate}: each key may appear once"
        )));
    }
    Ok(json!({ "AccessControlAttributes": attributes }))
}

fn none_configured(arn: &str) -> ApiError {
    ApiError::not_found(format!("No access control attribute configuration exists for instance {arn}"))
}

fn instance_arn<'a>(input: &Input<'a>) -> Result<&'a str, ApiError> {
    input.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN)
}

/// Each operation acts on the caller's own instance, once its creation has completed.
impl SsoState {
    pub(super) fn create_access_control(
        &mut self,
        config: &Config,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let arn = instance_arn(&input)?;
        let configuration = requested_configuration(&input)?;
        let instance = self.settled(caller, arn, CREATE, now)?;
        if instance.access_control.is_some() {
            return Err(ApiError::conflict(format!(
                "Instance {arn} already has an access control attribute configuration; update or delete it"
            )));
        }
        let failure = config
            .fail_access_control_attributes
            .iter()
            .find(|rule| rule.matches(&instance.account, instance.name.as_deref()));
        instance.access_control = Some(AccessControl {
            configuration,
            created: now,
            takes: super::seconds(config.access_control_attribute_seconds),
            failure: failure.map(|rule| rule.reason.clone()),
        });
        Ok(json!({}))
    }

    pub(super) fn describe_access_control(
        &mut self,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let arn = instance_arn(&input)?;
        let instance = self.settled(caller, arn, DESCRIBE, now)?;
        instance.access_control.as_ref().map(|access| access.describe(now)).ok_or_else(|| none_configured(arn))
    }

    /// Replaces the attributes; the status stays (a failed configuration is deleted and created again).
    pub(super) fn update_access_control(
        &mut self,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let arn = instance_arn(&input)?;
        let configuration = requested_configuration(&input)?;
        let instance = self.settled(caller, arn, UPDATE, now)?;
        let access = instance.access_control.as_mut().ok_or_else(|| none_configured(arn))?;
        if access.status(now) == "CREATION_IN_PROGRESS" {
            return Err(ApiError::conflict(format!(
                "The access control attribute configuration of instance {arn} is CREATION_IN_PROGRESS"
            )));
        }
        access.configuration = configuration;
        Ok(json!({}))
    }

    pub(super) fn delete_access_control(
        &mut self,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let arn = instance_arn(&input)?;
        let instance = self.settled(caller, arn, DELETE, now)?;
        instance.access_control.take().ok_or_else(|| none_configured(arn))?;
        Ok(json!({}))
    }
}
