//! UpdateInstance's `NetworkConfiguration` and DescribeInstance's
//! `NetworkConfigurationDetails`, which the SSO Admin service model has had
//! since 2026-11-12 (botocore 1.44.8, aws-sdk-go-v2 ssoadmin v1.53.0) and
//! aws-sdk-ssoadmin 1.125.0 does not.
//!
//! Both travel through the SDK's own pipeline, as interceptors of the one
//! request they concern: the member is added to the JSON body before the
//! request is signed, and read from the JSON body after it is deserialized.
//! Signing, retries, timeouts, the lease fence, the write guard and metering
//! treat these calls as every other. Once the SDK models the members, the
//! test `the_sdk_still_lacks_network_configuration` fails: then use the
//! SDK's fields and delete this module.

use std::sync::{Arc, Mutex};

use aws_sdk_ssoadmin::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_ssoadmin::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::NetworkConfiguration;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// NetworkConfigurationInfo as the wire spells it.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct WireNetworkConfiguration {
    vpce_access_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restrict_source_vpcs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allow_source_ips: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exclude_application_arns: Option<Vec<String>>,
}

impl From<&NetworkConfiguration> for WireNetworkConfiguration {
    /// Every list is sent, empty ones too: the call replaces the whole
    /// stored configuration, and an empty list says so plainly.
    fn from(network: &NetworkConfiguration) -> Self {
        Self {
            vpce_access_required: network.vpce_access_required,
            restrict_source_vpcs: Some(network.restrict_source_vpcs.clone()),
            allow_source_ips: Some(network.allow_source_ips.clone()),
            exclude_application_arns: Some(network.exclude_application_arns.clone()),
        }
    }
}

impl From<WireNetworkConfiguration> for NetworkConfiguration {
    fn from(wire: WireNetworkConfiguration) -> Self {
        Self {
            vpce_access_required: wire.vpce_access_required,
            restrict_source_vpcs: wire.restrict_source_vpcs.unwrap_or_default(),
            allow_source_ips: wire.allow_source_ips.unwrap_or_default(),
            exclude_application_arns: wire.exclude_application_arns.unwrap_or_default(),
        }
        .normalized()
    }
}

/// Adds `NetworkConfiguration` to an UpdateInstance request.
#[derive(Debug)]
pub(super) struct SendNetworkConfiguration(pub NetworkConfiguration);

impl Intercept for SendNetworkConfiguration {
    fn name(&self) -> &'static str {
        "SendNetworkConfiguration"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let body =
            request.body().bytes().ok_or("UpdateInstance has a streaming body; cannot add NetworkConfiguration")?;
        let body = with_network_configuration(body, &self.0)?;
        let length = body.len().to_string();
        *request.body_mut() = SdkBody::from(body);
        request.headers_mut().insert("content-length", length);
        Ok(())
    }
}

/// The UpdateInstance JSON body with `NetworkConfiguration` set to `network`.
fn with_network_configuration(body: &[u8], network: &NetworkConfiguration) -> Result<Vec<u8>, BoxError> {
    let mut document: Value =
        if body.is_empty() { Value::Object(Default::default()) } else { serde_json::from_slice(body)? };
    let fields = document.as_object_mut().ok_or("UpdateInstance's body is not a JSON object")?;
    fields.insert("NetworkConfiguration".into(), serde_json::to_value(WireNetworkConfiguration::from(network))?);
    Ok(serde_json::to_vec(&document)?)
}

/// What the last successful DescribeInstance attempt said of the network
/// controls: None until it answered, then its `NetworkConfigurationDetails`.
pub(super) type NetworkDetails = Arc<Mutex<Option<Option<NetworkConfiguration>>>>;

/// Reads `NetworkConfigurationDetails` from a DescribeInstance answer into its slot.
#[derive(Debug, Default)]
pub(super) struct ReadNetworkDetails(pub NetworkDetails);

impl Intercept for ReadNetworkDetails {
    fn name(&self) -> &'static str {
        "ReadNetworkConfigurationDetails"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if !response.status().is_success() {
            return Ok(());
        }
        let body = response.body().bytes().ok_or("DescribeInstance's answer was not read into memory")?;
        *self.0.lock().expect("never poisoned") = Some(network_details(body)?);
        Ok(())
    }
}

fn network_details(body: &[u8]) -> Result<Option<NetworkConfiguration>, BoxError> {
    let mut document: Value = serde_json::from_slice(body)?;
    let details = document.get_mut("NetworkConfigurationDetails").map(Value::take);
    match details {
        None | Some(Value::Null) => Ok(None),
        Some(details) => Ok(Some(serde_json::from_value::<WireNetworkConfiguration>(details)?.into())),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ssoadmin::operation::describe_instance::DescribeInstanceOutput;
    use aws_sdk_ssoadmin::operation::update_instance::UpdateInstanceInput;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_sdk_still_lacks_network_configuration() {
        let input = format!("{:?}", UpdateInstanceInput::builder().build().unwrap()).to_lowercase();
        let output = format!("{:?}", DescribeInstanceOutput::builder().build()).to_lowercase();
        for shape in [input, output] {
            assert!(
                !shape.contains("network_configuration"),
                "aws-sdk-ssoadmin now models NetworkConfiguration ({shape}): use its fields in sso/aws.rs and \
                 delete sso/network_configuration.rs"
            );
        }
    }

    #[test]
    fn the_whole_configuration_is_added_to_the_request_empty_lists_included() {
        let network = NetworkConfiguration {
            vpce_access_required: true,
            allow_source_ips: vec!["203.0.113.0/24".into()],
            ..Default::default()
        };
        let body = br#"{"InstanceArn":"arn:aws:sso:::instance/ssoins-0123456789abcdef"}"#;
        let sent: Value = serde_json::from_slice(&with_network_configuration(body, &network).unwrap()).unwrap();
        assert_eq!(
            sent,
            json!({
                "InstanceArn": "arn:aws:sso:::instance/ssoins-0123456789abcdef",
                "NetworkConfiguration": {
                    "VpceAccessRequired": true,
                    "RestrictSourceVpcs": [],
                    "AllowSourceIps": ["203.0.113.0/24"],
                    "ExcludeApplicationArns": [],
                },
            })
        );
        assert!(with_network_configuration(b"[1]", &network).is_err(), "a body that is no object is an error");
    }

    #[test]
    fn details_are_read_as_the_model_spells_them_and_absent_means_none() {
        let cases = [
            (json!({"InstanceArn": "a"}), None),
            (json!({"NetworkConfigurationDetails": null}), None),
            (
                json!({"NetworkConfigurationDetails": {"VpceAccessRequired": true, "AllowSourceIps": ["10.0.0.0/8", "192.0.2.1"]}}),
                Some(NetworkConfiguration {
                    vpce_access_required: true,
                    allow_source_ips: vec!["10.0.0.0/8".into(), "192.0.2.1".into()],
                    ..Default::default()
                }),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(network_details(body.to_string().as_bytes()).unwrap(), expected, "{body}");
        }
        assert!(network_details(br#"{"NetworkConfigurationDetails": {"AllowSourceIps": []}}"#).is_err());
    }
}
