//! The request context IAM builds before it evaluates any policy: who asks
//! (account, ARN, organization, session tags), the resource's account and
//! organization, and what the request itself carries (tags, session name,
//! external id, source identity).

use std::collections::BTreeMap;

use serde_json::Value;

use super::Principal;
use super::conditions::RequestContext;
use crate::sts::input::AssumeRoleInput;

/// Account id -> organization id, from the settings' `accountOrganizations`.
pub(crate) type Organizations = BTreeMap<String, String>;

/// Global keys every request has: the principal's and the resource's side.
fn common(
    principal: &Principal,
    resource_account: &str,
    organizations: &Organizations,
    region: &str,
) -> RequestContext {
    let mut context = RequestContext::default();
    context.set("aws:PrincipalAccount", &principal.account);
    context.set("aws:PrincipalArn", principal.role_arn.as_deref().unwrap_or(&principal.arn));
    if let Some(organization) = organizations.get(&principal.account) {
        context.set("aws:PrincipalOrgID", organization);
    }
    for (key, value) in &principal.tags {
        context.set_tag("aws:PrincipalTag", key, value);
    }
    context.set("aws:ResourceAccount", resource_account);
    // An account in no organization has no aws:ResourceOrgID: StringEquals on it is false.
    if let Some(organization) = organizations.get(resource_account) {
        context.set("aws:ResourceOrgID", organization);
    }
    context.set("aws:RequestedRegion", region);
    context
}

fn request_tags<'a>(context: &mut RequestContext, tags: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut keys = Vec::new();
    for (key, value) in tags {
        context.set_tag("aws:RequestTag", key, value);
        keys.push(key.to_string());
    }
    context.set_all("aws:TagKeys", keys);
}

/// The account in an IAM or STS ARN (`arn:aws:iam::111122223333:role/x`).
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// An AssumeRole request: the role is the resource; identity and trust policies see the same context.
pub(crate) fn assume_role(
    principal: &Principal,
    organizations: &Organizations,
    region: &str,
    input: &AssumeRoleInput,
) -> RequestContext {
    let role_account = input.role_arn.as_deref().and_then(arn_account).unwrap_or_default();
    let mut context = common(principal, role_account, organizations, region);
    request_tags(&mut context, input.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    context.set_all("sts:TransitiveTagKeys", input.transitive_tag_keys.clone());
    let optional = [
        ("sts:RoleSessionName", &input.role_session_name),
        ("sts:ExternalId", &input.external_id),
        ("sts:SourceIdentity", &input.source_identity),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            context.set(key, value);
        }
    }
    context
}

/// An SSO Admin or Organizations request. Its resources are not modelled
/// (the policies name `*`), so the caller's own account stands for the
/// resource's.
pub(crate) fn own_account(
    principal: &Principal,
    organizations: &Organizations,
    region: &str,
    operation: &str,
    params: &Value,
) -> RequestContext {
    let mut context = common(principal, &principal.account, organizations, region);
    match operation {
        "CreateInstance" | "TagResource" | "CreateAccount" | "CreateOrganizationalUnit" => {
            let tags = params["Tags"].as_array().into_iter().flatten();
            let pairs = tags.filter_map(|tag| Some((tag["Key"].as_str()?, tag["Value"].as_str().unwrap_or_default())));
            request_tags(&mut context, pairs);
        }
        "UntagResource" => {
            let keys = params["TagKeys"].as_array().into_iter().flatten().filter_map(Value::as_str);
            context.set_all("aws:TagKeys", keys.map(String::from).collect());
        }
        _ => {}
    }
    context
}

/// Keys that belong to one action of a request, not to the request.
pub(crate) fn for_action(context: &RequestContext, action: &str) -> RequestContext {
    let mut context = context.clone();
    // CreateInstance creates IAM Identity Center's service-linked role.
    if action == "iam:CreateServiceLinkedRole" {
        context.set("iam:AWSServiceName", "sso.amazonaws.com");
    }
    context
}
