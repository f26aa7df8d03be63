//! STS AssumeRole and GetCallerIdentity over the query protocol. Keys that
//! AssumeRole hands out act in the role's account until they expire.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use rand::Rng;
use rand::rngs::StdRng;

use self::input::AssumeRoleInput;
use crate::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::iam::{self, Principal};

pub(crate) mod input;

pub const OPERATIONS: [&str; 2] = ["AssumeRole", "GetCallerIdentity"];
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

struct Session {
    account: String,
    /// The role's ARN, its path included: the IAM policies are looked up by it.
    role_arn: String,
    role_name: String,
    session_name: String,
    /// The session tags it was given: `aws:PrincipalTag/<key>` in its later requests.
    tags: Vec<(String, String)>,
    expires: SystemTime,
}

impl Session {
    fn arn(&self) -> String {
        format!("arn:aws:sts::{}:assumed-role/{}/{}", self.account, self.role_name, self.session_name)
    }
}

#[derive(Default)]
pub struct StsState {
    sessions: HashMap<String, Session>,
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn random_key(rng: &mut StdRng, length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..length).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn access_denied(message: String) -> ApiError {
    ApiError::new(403, "AccessDenied", message)
}

impl StsState {
    /// The account of a key this emulator issued, or the expiry error once it lapsed.
    pub fn session_account(&self, access_key: &str) -> Option<Result<String, ApiError>> {
        let session = self.sessions.get(access_key)?;
        if SystemTime::now() >= session.expires {
            let message = "The security token included in the request is expired";
            return Some(Err(ApiError::new(400, "ExpiredTokenException", message)));
        }
        Some(Ok(session.account.clone()))
    }

    /// Who signs with `access_key`: a session this emulator issued, the ARN
    /// `iam.principals` gives the key, or the account's `user/emulator`.
    pub(crate) fn principal(&self, config: &Config, access_key: &str, account: &str) -> Principal {
        if let Some(session) = self.sessions.get(access_key) {
            return Principal {
                arn: session.arn(),
                account: session.account.clone(),
                role_arn: Some(session.role_arn.clone()),
                tags: session.tags.clone(),
                policy_keys: vec![session.role_arn.clone()],
            };
        }
        let mapped = config.iam.as_ref().and_then(|iam| iam.principals.get(access_key));
        let mut policy_keys = vec![access_key.to_string()];
        policy_keys.extend(mapped.cloned());
        match mapped.and_then(|arn| Some((arn, parse_role(arn)?))) {
            // A key that stands for a role's session, as a pod's web identity would give it.
            Some((role_arn, (_, role_name))) => Principal {
                arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{access_key}"),
                account: account.to_string(),
                role_arn: Some(role_arn.clone()),
                tags: Vec::new(),
                policy_keys,
            },
            None => Principal {
                arn: mapped.cloned().unwrap_or_else(|| format!("arn:aws:iam::{account}:user/emulator")),
                account: account.to_string(),
                role_arn: None,
                tags: Vec::new(),
                policy_keys,
            },
        }
    }

    /// Runs one STS action and returns its XML answer.
    pub fn call(
        &mut self,
        config: &Config,
        rng: &mut StdRng,
        caller: &Caller,
        action: &str,
        params: &HashMap<String, String>,
    ) -> Result<String, ApiError> {
        let principal = self.principal(config, &caller.access_key, &caller.account);
        let result = match action {
            "GetCallerIdentity" => caller_identity(&principal, &caller.access_key),
            "AssumeRole" => self.assume_role(config, rng, caller, &principal, &AssumeRoleInput::read(params))?,
            other => return Err(ApiError::new(400, "InvalidAction", format!("Could not find operation {other}"))),
        };
        Ok(format!(
            "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
            caller.request_id
        ))
    }

    fn assume_role(
        &mut self,
        config: &Config,
        rng: &mut StdRng,
        caller: &Caller,
        principal: &Principal,
        input: &AssumeRoleInput,
    ) -> Result<String, ApiError> {
        let valid = input.validate()?;
        let role_arn = valid.role_arn;
        let (account, role_name) = parse_role(role_arn)
            .ok_or_else(|| ApiError::new(400, "ValidationError", format!("{role_arn} is not a valid role ARN")))?;
        let denied = || {
            access_denied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                principal.arn
            ))
        };
        if config.deny_assume_role.iter().any(|d| d == role_arn || *d == account) {
            return Err(denied());
        }
        if let Some(required) = config.external_ids.get(role_arn)
            && input.external_id.as_ref() != Some(required)
        {
            return Err(denied());
        }
        if let Some(iam_config) = &config.iam {
            let context = iam::context::assume_role(principal, &config.account_organizations, &caller.region, input);
            let actions = iam::assume_role_actions(input);
            iam::check_trust(iam_config, principal, &actions, role_arn, &context).map_err(access_denied)?;
        }
        let lifetime = config.max_session_seconds.map_or(valid.duration, |cap| cap.min(valid.duration));
        let expires = SystemTime::now() + Duration::from_secs(lifetime);
        let access_key = format!("ASIA{account}{}", random_key(rng, 4));
        let secret = random_key(rng, 40);
        let token = random_key(rng, 64);
        let expiration = Timestamp::try_from(expires).map(|t| t.to_string()).unwrap_or_default();
        let session_name = valid.session_name.to_string();
        let source_identity = input
            .source_identity
            .as_ref()
            .map(|source| format!("<SourceIdentity>{}</SourceIdentity>", escape(source)))
            .unwrap_or_default();
        let body = format!(
            "<Credentials><AccessKeyId>{access_key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
             <SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAEMULATOR{account}:{sn}</AssumedRoleId>\
             <Arn>arn:aws:sts::{account}:assumed-role/{rn}/{sn}</Arn></AssumedRoleUser>{source_identity}",
            sn = escape(&session_name),
            rn = escape(&role_name),
        );
        let session = Session {
            account,
            role_arn: role_arn.to_string(),
            role_name,
            session_name,
            tags: input.tags.clone(),
            expires,
        };
        self.sessions.insert(access_key, session);
        Ok(body)
    }
}

fn caller_identity(principal: &Principal, access_key: &str) -> String {
    // Role sessions show AWS's role-id:session-name user id; users their key.
    let user_id = match principal.arn.rsplit_once('/') {
        Some((_, session)) if principal.role_arn.is_some() => format!("AROAEMULATOR{}:{session}", principal.account),
        _ => access_key.to_string(),
    };
    format!(
        "<UserId>{}</UserId><Account>{}</Account><Arn>{}</Arn>",
        escape(&user_id),
        principal.account,
        escape(&principal.arn)
    )
}

/// (account, role name) of `arn:aws:iam::111122223333:role/path/name`.
fn parse_role(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    let valid =
        service == "iam" && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty();
    valid.then(|| (account.to_string(), name.to_string()))
}

/// The XML error layout of the query protocol.
pub fn error_xml(error: &ApiError, request_id: &str) -> String {
    let kind = if error.status >= 500 { "Receiver" } else { "Sender" };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>",
        error.code,
        escape(&error.message)
    )
}
