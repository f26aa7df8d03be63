//! Who may reach the instance's access portal and applications (network
//! controls), and which user attributes its permission policies may use
//! (attribute-based access control). Both are the spec's whole truth when
//! present and left as AWS has them when absent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// NetworkConfigurationInfo of the service model (2026-11-12): where sign-ins
/// and application access may come from. UpdateInstance replaces the whole
/// stored configuration, so a list left out here is emptied in AWS.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.vpceAccessRequired || ((!has(self.restrictSourceVpcs) || size(self.restrictSourceVpcs) == 0) && (!has(self.allowSourceIps) || size(self.allowSourceIps) == 0) && (!has(self.excludeApplicationArns) || size(self.excludeApplicationArns) == 0))",
    "message": "with vpceAccessRequired false no network control is enforced and AWS clears restrictSourceVpcs, allowSourceIps and excludeApplicationArns; set vpceAccessRequired true to use them",
}]))]
pub struct NetworkConfiguration {
    /// Access must come through a VPC endpoint of IAM Identity Center: from
    /// any VPC of the organization (or of the account, for an account
    /// instance), or only restrictSourceVpcs, plus allowSourceIps. False
    /// enforces no network control, and then the lists must be empty.
    pub vpce_access_required: bool,
    /// VPCs (ARNs, at most 50) that requests may come from, for example
    /// arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        extend("x-kubernetes-list-type" = "set"),
        inner(length(min = 43, max = 128), pattern(r"^arn:aws(-[a-z]{1,5}){0,3}:ec2:[a-z0-9-]+:[0-9]{12}:vpc/vpc-([0-9a-f]){8}(([0-9a-f]){9})?$"))
    )]
    pub restrict_source_vpcs: Vec<String>,
    /// IPv4 or IPv6 addresses or CIDR ranges (at most 50) allowed without a VPC endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        extend("x-kubernetes-list-type" = "set"),
        inner(length(min = 2, max = 43), pattern(r"^((([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])(\/(3[0-2]|[1-2][0-9]|[0-9]))?|(([0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:(:[0-9a-fA-F]{1,4}){1,6}|:((:[0-9a-fA-F]{1,4}){1,7}|:))(\/(12[0-8]|1[0-1][0-9]|[1-9][0-9]|[0-9]))?)$"))
    )]
    pub allow_source_ips: Vec<String>,
    /// Applications (ARNs, wildcards allowed, at most 50) that the controls do not apply to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 50),
        extend("x-kubernetes-list-type" = "set"),
        inner(length(min = 10, max = 1224), pattern(r"^arn:aws(-[a-z]{1,5}){0,3}:[a-z0-9-]+:[a-z0-9-*]*:[0-9]{12}:[-a-zA-Z0-9./:_*]+$"))
    )]
    pub exclude_application_arns: Vec<String>,
}

impl NetworkConfiguration {
    /// The same configuration with its lists in one order: AWS keeps no
    /// order the operator could rely on, and sets compare equal either way.
    pub fn normalized(&self) -> Self {
        let sorted = |list: &Vec<String>| {
            let mut list = list.clone();
            list.sort_unstable();
            list.dedup();
            list
        };
        Self {
            vpce_access_required: self.vpce_access_required,
            restrict_source_vpcs: sorted(&self.restrict_source_vpcs),
            allow_source_ips: sorted(&self.allow_source_ips),
            exclude_application_arns: sorted(&self.exclude_application_arns),
        }
    }
}

/// One attribute that permission sets' policies may use (`aws:PrincipalTag/<key>`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessControlAttribute {
    /// The attribute's name in policies, for example CostCenter.
    #[schemars(length(min = 1, max = 128), pattern(r"^[\p{L}\p{Z}\p{N}_.:\/=+\-@]+$"))]
    pub key: String,
    /// Where its value comes from: a user attribute of the identity store,
    /// for example ${path:enterprise.costCenter}, or a SAML assertion attribute.
    #[schemars(length(max = 256), pattern(r#"^[\p{L}\p{Z}\p{N}_.:\/=+\-@\[\]\{\}\$\\"]*$"#))]
    pub source: String,
}

/// The instance's attribute-based access control configuration as
/// DescribeInstanceAccessControlAttributeConfiguration reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservedAccessControlAttributes {
    /// ENABLED, CREATION_IN_PROGRESS or CREATION_FAILED; absent while the instance has no configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// StatusReason, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The attributes AWS holds, by key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "super::schema::unvalidated::<Vec<AccessControlAttribute>>")]
    pub attributes: Vec<AccessControlAttribute>,
    /// The metadata.generation whose attributes the operator last sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_for_generation: Option<i64>,
}
