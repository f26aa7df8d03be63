//! UpdateInstance: the name, and one of the KMS key (a workflow that stays
//! UPDATING for a while), permission sets (irreversible) or the network
//! access configuration (replaced whole) per request.

use std::time::Instant;

use serde_json::{Value, json};

use super::instance::{AWS_OWNED, CUSTOMER_MANAGED, Key};
use super::{Caller, SsoState, network};
use crate::config::{Config, KmsKeyFault, KmsRefusal};
use crate::error::ApiError;
use crate::validate::{INSTANCE_ARN, Input, KMS_KEY_ARN, NAME};

/// The key UpdateInstance asks for: None is the AWS owned key.
struct KeyRequest<'a> {
    customer_key: Option<&'a str>,
}

fn key_request<'a>(input: &Input<'a>) -> Result<Option<KeyRequest<'a>>, ApiError> {
    input.structure("EncryptionConfiguration", |config| {
        let key_type = config.one_of("KeyType", &[AWS_OWNED, CUSTOMER_MANAGED])?;
        let key_type = config.require("KeyType", key_type)?;
        let arn = config.string("KmsKeyArn", 20, 2048, &KMS_KEY_ARN)?;
        match (key_type, arn) {
            (CUSTOMER_MANAGED, Some(arn)) => Ok(KeyRequest { customer_key: Some(arn) }),
            (CUSTOMER_MANAGED, None) => {
                Err(ApiError::validation("KmsKeyArn is required when KeyType is CUSTOMER_MANAGED_KEY"))
            }
            (_, None) => Ok(KeyRequest { customer_key: None }),
            (_, Some(_)) => Err(ApiError::validation("KmsKeyArn must not be set when KeyType is AWS_OWNED_KMS_KEY")),
        }
    })
}

/// Besides the name, one UpdateInstance changes one thing at most: the key,
/// permission sets or network access.
fn refuse_more_than_one_kind(kinds: [(&str, bool); 3]) -> Result<(), ApiError> {
    let present: Vec<&str> = kinds.iter().filter(|(_, present)| *present).map(|(member, _)| *member).collect();
    match present.split_last() {
        Some((last, others)) if !others.is_empty() => {
            Err(ApiError::validation(format!("{} and {last} cannot be updated in the same request", others.join(", "))))
        }
        _ => Ok(()),
    }
}

/// The exception a refused key answers with: the model puts each KMS Reason on one exception.
fn refused(refusal: KmsRefusal, key: &str) -> ApiError {
    let message = format!("IAM Identity Center cannot use KMS key {key}");
    match refusal {
        KmsRefusal::KMS_AccessDeniedException => {
            ApiError::access_denied(message).with_reason("KMS_AccessDeniedException")
        }
        KmsRefusal::KMS_NotFoundException => ApiError::not_found(message).with_reason("KMS_NotFoundException"),
        KmsRefusal::KMS_DisabledException => ApiError::validation(message).with_reason("KMS_DisabledException"),
        KmsRefusal::KMS_InvalidKeyUsageException => {
            ApiError::validation(message).with_reason("KMS_InvalidKeyUsageException")
        }
        KmsRefusal::KMS_InvalidStateException => ApiError::validation(message).with_reason("KMS_InvalidStateException"),
    }
}

/// The account in a KMS key ARN (arn:aws:kms:<region>:<account>:key/...).
fn key_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

impl SsoState {
    pub(super) fn update(
        &mut self,
        config: &Config,
        caller: &Caller,
        body: &Value,
        now: Instant,
    ) -> Result<Value, ApiError> {
        let input = Input::new(body)?;
        let arn = input.required_string("InstanceArn", 10, 1224, &INSTANCE_ARN)?;
        let name = input.string("Name", 0, 255, &NAME)?;
        let key = key_request(&input)?;
        let permission_sets = input.boolean("PermissionSetsEnabled")?;
        let network = network::read(&input)?;
        refuse_more_than_one_kind([
            ("EncryptionConfiguration", key.is_some()),
            ("PermissionSetsEnabled", permission_sets.is_some()),
            ("NetworkConfiguration", network.is_some()),
        ])?;
        if permission_sets == Some(false) {
            return Err(ApiError::validation("PermissionSetsEnabled can only be set to true; it cannot be disabled"));
        }
        let instance = self.settled(caller, arn, "UpdateInstance", now)?;
        if let Some(key) = key {
            instance.refuse_if_busy(now)?;
            let mut failure = None;
            if let Some(customer_key) = key.customer_key {
                if !instance.organization {
                    return Err(ApiError::validation(
                        "Customer managed KMS keys are supported only for organization instances",
                    ));
                }
                if key_account(customer_key) != Some(instance.account.as_str()) {
                    return Err(ApiError::validation(format!(
                        "KMS key {customer_key} must be in the instance's account {}",
                        instance.account
                    )));
                }
                match config.unusable_kms_keys.get(customer_key) {
                    Some(KmsKeyFault::Refuse(refusal)) => return Err(refused(*refusal, customer_key)),
                    Some(KmsKeyFault::FailUpdate(reason)) => failure = Some(reason.clone()),
                    None => {}
                }
            }
            let multi_region = key.customer_key.is_some_and(|k| k.contains(":key/mrk-"));
            if !multi_region && !instance.replicas.is_empty() {
                return Err(ApiError::validation(
                    "The instance has additional Regions, which need a multi-Region customer managed key; remove \
                     them first",
                ));
            }
            instance.key = Key {
                customer_key: key.customer_key.map(str::to_string),
                changed: now,
                takes: super::seconds(config.encryption_seconds),
                failure,
            };
        }
        if permission_sets == Some(true) {
            instance.permission_sets_enabled = true;
        }
        if network.is_some() {
            // The whole configuration is replaced: a list the request omits is cleared.
            instance.network = network;
        }
        if let Some(name) = name {
            instance.name = Some(name.to_string());
        }
        Ok(json!({}))
    }
}
