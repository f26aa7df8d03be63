//! UpdateInstance's NetworkConfiguration (NetworkConfigurationInfo): whether
//! the AWS access portal and applications need a VPC endpoint, from which VPCs
//! and source IPs they may be reached, and which applications are exempt.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::validate::{APPLICATION_ARN, IP_CIDR, Input, VPC_ARN};

/// Each list of NetworkConfigurationInfo holds 50 entries at most.
const MAX_ENTRIES: usize = 50;

/// The request's NetworkConfiguration, validated by the model, as
/// DescribeInstance will show it. As the model documents it, the request
/// replaces the stored configuration whole: a list it omits or leaves empty
/// is cleared, and VpceAccessRequired false clears all three lists.
pub(super) fn read(input: &Input) -> Result<Option<Value>, ApiError> {
    input.structure("NetworkConfiguration", |network| {
        let vpce_access_required = network.boolean("VpceAccessRequired")?;
        let vpce_access_required = network.require("VpceAccessRequired", vpce_access_required)?;
        let mut details = Map::new();
        details.insert("VpceAccessRequired".into(), json!(vpce_access_required));
        let lists = [
            ("RestrictSourceVpcs", (43, 128), &*VPC_ARN),
            ("AllowSourceIps", (2, 43), &*IP_CIDR),
            ("ExcludeApplicationArns", (10, 1224), &*APPLICATION_ARN),
        ];
        for (member, length, pattern) in lists {
            let entries = network.strings(member, (0, MAX_ENTRIES), length, pattern)?.unwrap_or_default();
            if vpce_access_required && !entries.is_empty() {
                details.insert(member.into(), json!(entries));
            }
        }
        Ok(Value::Object(details))
    })
}
