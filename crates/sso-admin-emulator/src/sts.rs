//! STS AssumeRole and GetCallerIdentity over the query protocol. Keys that
//! AssumeRole hands out act in the role's account until they expire.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use rand::Rng;
use rand::rngs::StdRng;

use super::Caller;
use super::config::Config;
use super::error::ApiError;

pub const OPERATIONS: [&str; 2] = ["AssumeRole", "GetCallerIdentity"];
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

struct Session {
    account: String,
    /// The role's ARN, its path included: the IAM policies are looked up by it.
    role_arn: String,
    role_name: String,
    session_name: String,
    expires: SystemTime,
}

#[derive(Default)]
pub struct StsState {
    sessions: HashMap<String, Session>,
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn validation(message: String) -> ApiError {
    ApiError::new(400, "ValidationError", message)
}

fn random_key(rng: &mut StdRng, length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..length).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
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

    /// The role a session key acts as, and the session's ARN; None for a key this emulator did not issue.
    pub fn session_role(&self, access_key: &str) -> Option<(String, String)> {
        let s = self.sessions.get(access_key)?;
        Some((
            s.role_arn.clone(),
            format!("arn:aws:sts::{}:assumed-role/{}/{}", s.account, s.role_name, s.session_name),
        ))
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
        let (access_key, account, request_id) = (&caller.access_key, &caller.account, &caller.request_id);
        let result = match action {
            "GetCallerIdentity" => self.caller_identity(access_key, account),
            "AssumeRole" => self.assume_role(config, rng, account, params)?,
            other => return Err(ApiError::new(400, "InvalidAction", format!("Could not find operation {other}"))),
        };
        Ok(format!(
            "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result>\
             <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
        ))
    }

    fn caller_identity(&self, access_key: &str, account: &str) -> String {
        let (user_id, arn) = match self.sessions.get(access_key) {
            Some(s) => (
                format!("AROAEMULATOR{}:{}", s.account, s.session_name),
                format!("arn:aws:sts::{}:assumed-role/{}/{}", s.account, s.role_name, s.session_name),
            ),
            None => (access_key.to_string(), format!("arn:aws:iam::{account}:user/emulator")),
        };
        format!("<UserId>{}</UserId><Account>{account}</Account><Arn>{}</Arn>", escape(&user_id), escape(&arn))
    }

    fn assume_role(
        &mut self,
        config: &Config,
        rng: &mut StdRng,
        caller_account: &str,
        params: &HashMap<String, String>,
    ) -> Result<String, ApiError> {
        let role_arn = params.get("RoleArn").ok_or_else(|| validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null".into()))?;
        let session_name = params.get("RoleSessionName").ok_or_else(|| validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null".into()))?;
        if !(2..=64).contains(&session_name.len())
            || !session_name.chars().all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c))
        {
            return Err(validation(format!(
                "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*"
            )));
        }
        let duration: u64 = match params.get("DurationSeconds") {
            None => 3600,
            Some(text) => text.parse().ok().filter(|d| (900..=43_200).contains(d)).ok_or_else(|| {
                validation(format!("1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"))
            })?,
        };
        let (account, role_name) =
            parse_role(role_arn).ok_or_else(|| validation(format!("{role_arn} is not a valid role ARN")))?;
        let denied = || {
            ApiError::new(
                403,
                "AccessDenied",
                format!(
                    "User: arn:aws:iam::{caller_account}:user/emulator is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
                ),
            )
        };
        if config.deny_assume_role.iter().any(|d| d == role_arn || *d == account) {
            return Err(denied());
        }
        if let Some(required) = config.external_ids.get(role_arn)
            && params.get("ExternalId") != Some(required)
        {
            return Err(denied());
        }
        let lifetime = config.max_session_seconds.map_or(duration, |cap| cap.min(duration));
        let expires = SystemTime::now() + Duration::from_secs(lifetime);
        let access_key = format!("ASIA{account}{}", random_key(rng, 4));
        let secret = random_key(rng, 40);
        let token = random_key(rng, 64);
        let expiration = Timestamp::try_from(expires).map(|t| t.to_string()).unwrap_or_default();
        let session_name = session_name.clone();
        let body = format!(
            "<Credentials><AccessKeyId>{access_key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>\
             <SessionToken>{token}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROAEMULATOR{account}:{sn}</AssumedRoleId>\
             <Arn>arn:aws:sts::{account}:assumed-role/{rn}/{sn}</Arn></AssumedRoleUser>",
            sn = escape(&session_name),
            rn = escape(&role_name),
        );
        let role_arn = role_arn.to_string();
        self.sessions.insert(access_key, Session { account, role_arn, role_name, session_name, expires });
        Ok(body)
    }
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
