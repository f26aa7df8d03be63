//! The wire: awsJson1_1 for SSO Admin and Organizations, the query protocol
//! for STS, and the
//! `/_emulator/` control endpoints. Bad input gets an AWS-shaped error.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::calls::{AssumeRoleRecord, Call};
use super::config::Faults;
use super::error::ApiError;
use super::faults::Fault;
use super::sts::error_xml;
use super::sts::input::AssumeRoleInput;
use super::{Caller, Emulator, Service};
use super::{organizations, sso, sts};

/// AWS refuses request bodies past this size.
const MAX_BODY: usize = 1 << 20;
const JSON_CONTENT: &str = "application/x-amz-json-1.1";
const SSO_TARGET_PREFIX: &str = "SWBExternalService.";
const ORGANIZATIONS_TARGET_PREFIX: &str = "AWSOrganizationsV20161128.";

pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .route("/", post(handle))
        .route("/_emulator/calls", get(list_calls).delete(clear_calls))
        .route("/_emulator/faults", get(get_faults).put(put_faults))
        .route("/_emulator/health", get(|| async { "ok" }))
        .with_state(emulator)
}

async fn list_calls(State(emulator): State<Emulator>) -> Response {
    axum::Json(emulator.calls()).into_response()
}

async fn clear_calls(State(emulator): State<Emulator>) -> StatusCode {
    emulator.clear_calls();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(emulator): State<Emulator>) -> Response {
    axum::Json(emulator.faults()).into_response()
}

async fn put_faults(State(emulator): State<Emulator>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            emulator.set_faults(faults);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// The caller's access key and region, from the SigV4 credential scope.
fn credential(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::new(403, "MissingAuthenticationTokenException", "Missing Authentication Token"))?;
    let incomplete = || {
        ApiError::new(
            400,
            "IncompleteSignatureException",
            "Authorization header requires a SigV4 'Credential' parameter",
        )
    };
    let text = value.to_str().map_err(|_| incomplete())?;
    let scope = text
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .and_then(|rest| rest.split(',').map(str::trim).find_map(|part| part.strip_prefix("Credential=")))
        .ok_or_else(incomplete)?;
    let parts: Vec<&str> = scope.split('/').collect();
    match parts.as_slice() {
        [key, _date, region, _service, "aws4_request"] if !key.is_empty() && !region.is_empty() => {
            Ok((key.to_string(), region.to_string()))
        }
        _ => Err(incomplete()),
    }
}

fn request_id() -> String {
    let value: u128 = rand::random();
    let hex = format!("{value:032x}");
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

fn respond(service: Service, result: &Result<String, ApiError>, id: &str) -> Response {
    let json = service != Service::Sts;
    let (status, body, content) = match (service, result) {
        (Service::Sts, Ok(body)) => (200, body.clone(), "text/xml"),
        (_, Ok(body)) => (200, body.clone(), JSON_CONTENT),
        (Service::Sts, Err(e)) => (e.status, error_xml(e, id), "text/xml"),
        (_, Err(e)) => {
            let mut body = json!({"__type": e.code, "message": e.message, "Message": e.message});
            if let Some(reason) = e.reason {
                body["Reason"] = json!(reason);
            }
            (e.status, body.to_string(), JSON_CONTENT)
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content));
    headers.insert("x-amzn-requestid", HeaderValue::from_str(id).expect("request ids are ASCII"));
    if let (true, Err(e)) = (json, result) {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(e.code));
    }
    response
}

/// A response whose body fails: the server closes the connection mid-answer.
fn dropped() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("fault injection: dropped"))
    });
    Response::new(Body::from_stream(failing))
}

struct Request {
    service: Service,
    operation: String,
    params: Value,
}

/// Reads what is asked, before any account is known.
fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Request, (Service, ApiError)> {
    if let Some(target) = headers.get("x-amz-target") {
        let target = target.to_str().unwrap_or_default();
        let sso = target.strip_prefix(SSO_TARGET_PREFIX).and_then(|op| sso::OPERATIONS.iter().find(|o| **o == op));
        let organizations = target.strip_prefix(ORGANIZATIONS_TARGET_PREFIX).and_then(organizations::operation);
        let (service, operation) = match (sso, organizations) {
            (Some(operation), _) => (Service::Sso, *operation),
            (None, Some(operation)) => (Service::Organizations, operation),
            (None, None) => {
                let service = if organizations_target(target) { Service::Organizations } else { Service::Sso };
                let error = ApiError::new(400, "UnknownOperationException", format!("Unknown operation {target}"));
                return Err((service, error));
            }
        };
        let params = if body.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(body)
                .map_err(|e| (service, ApiError::serialization(format!("Malformed JSON: {e}"))))?
        };
        return Ok(Request { service, operation: operation.into(), params });
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|c| c.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if !form {
        return Err((Service::Sso, ApiError::new(400, "UnknownOperationException", "Missing X-Amz-Target")));
    }
    let params: HashMap<String, String> = serde_urlencoded::from_bytes(body)
        .map_err(|e| (Service::Sts, ApiError::new(400, "MalformedQueryString", e.to_string())))?;
    let action = params.get("Action").cloned().unwrap_or_default();
    if !sts::OPERATIONS.contains(&action.as_str()) {
        return Err((Service::Sts, ApiError::new(400, "InvalidAction", format!("Could not find operation {action}"))));
    }
    Ok(Request { service: Service::Sts, operation: action, params: json!(params) })
}

fn organizations_target(target: &str) -> bool {
    target.starts_with(ORGANIZATIONS_TARGET_PREFIX)
}

async fn handle(State(emulator): State<Emulator>, headers: HeaderMap, body: Body) -> Response {
    let id = request_id();
    let service_hint = match headers.get("x-amz-target").map(|t| t.to_str().unwrap_or_default()) {
        Some(target) if organizations_target(target) => Service::Organizations,
        Some(_) => Service::Sso,
        None => Service::Sts,
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        let error =
            ApiError::new(413, "RequestEntityTooLargeException", format!("Request body exceeds {MAX_BODY} bytes"));
        return respond(service_hint, &Err(error), &id);
    };
    let request = match parse(&headers, &body) {
        Ok(request) => request,
        Err((service, error)) => {
            emulator.log(Call {
                seq: 0,
                service: name(service),
                operation: "?".into(),
                access_key: None,
                account: None,
                region: None,
                request: Value::Null,
                outcome: error.code.into(),
                status: error.status,
                assume_role: None,
            });
            return respond(service, &Err(error), &id);
        }
    };
    let (access_key, region) = match credential(&headers) {
        Ok(credential) => credential,
        Err(error) => {
            emulator.log(call(&request, None, None, None, &Err(error.clone())));
            return respond(request.service, &Err(error), &id);
        }
    };
    let account = match emulator.account_of(&access_key) {
        Ok(account) => account,
        Err(error) => {
            emulator.log(call(&request, Some(&access_key), None, Some(&region), &Err(error.clone())));
            return respond(request.service, &Err(error), &id);
        }
    };
    let caller = Caller {
        access_key: access_key.clone(),
        account: account.clone(),
        region: region.clone(),
        request_id: id.clone(),
    };
    if let Err(error) = emulator.authorize(&caller, request.service, &request.operation, &request.params) {
        emulator.log(call(&request, Some(&access_key), Some(&account), Some(&region), &Err(error.clone())));
        return respond(request.service, &Err(error), &id);
    }
    let injection = emulator.roll_faults(&request.operation, &account);
    if !injection.before.is_zero() {
        tokio::time::sleep(injection.before).await;
    }
    let result = match injection.fault {
        Some(Fault::Drop) => {
            let mut entry = call(&request, Some(&access_key), Some(&account), Some(&region), &Ok(String::new()));
            entry.outcome = "dropped".into();
            entry.status = 0;
            emulator.log(entry);
            return dropped();
        }
        Some(Fault::Throttle) if request.service == Service::Sts => {
            Err(ApiError::new(400, "Throttling", "Rate exceeded"))
        }
        Some(Fault::Throttle) if request.service == Service::Organizations => {
            Err(ApiError::new(400, "TooManyRequestsException", "Rate exceeded"))
        }
        Some(Fault::Throttle) => Err(ApiError::throttling()),
        Some(Fault::ServerError) if request.service == Service::Sts => {
            Err(ApiError::new(500, "InternalFailure", "internal failure"))
        }
        Some(Fault::ServerError) if request.service == Service::Organizations => Err(ApiError::new(
            500,
            "ServiceException",
            "AWS Organizations can't complete your request because of an internal service error. Try again later.",
        )),
        Some(Fault::ServerError) => Err(ApiError::internal()),
        None => emulator.dispatch(&caller, request.service, &request.operation, &request.params),
    };
    emulator.log(call(&request, Some(&access_key), Some(&account), Some(&region), &result));
    if !injection.after.is_zero() {
        tokio::time::sleep(injection.after).await;
    }
    respond(request.service, &result, &id)
}

fn name(service: Service) -> String {
    match service {
        Service::Sso => "sso",
        Service::Sts => "sts",
        Service::Organizations => "organizations",
    }
    .into()
}

fn call(
    request: &Request,
    access_key: Option<&str>,
    account: Option<&str>,
    region: Option<&str>,
    result: &Result<String, ApiError>,
) -> Call {
    Call {
        seq: 0,
        service: name(request.service),
        operation: request.operation.clone(),
        access_key: access_key.map(String::from),
        account: account.map(String::from),
        region: region.map(String::from),
        request: request.params.clone(),
        outcome: result.as_ref().map_or_else(|e| e.code.to_string(), |_| "ok".to_string()),
        status: result.as_ref().map_or_else(|e| e.status, |_| 200),
        assume_role: assume_role_record(request),
    }
}

/// What an AssumeRole asked for, so that tests can assert the session name and tags.
fn assume_role_record(request: &Request) -> Option<AssumeRoleRecord> {
    if request.service != Service::Sts || request.operation != "AssumeRole" {
        return None;
    }
    let params = serde_json::from_value(request.params.clone()).unwrap_or_default();
    let input = AssumeRoleInput::read(&params);
    Some(AssumeRoleRecord {
        role_arn: input.role_arn,
        role_session_name: input.role_session_name,
        tags: input.tags.into_iter().collect(),
        source_identity: input.source_identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn the_credential_scope_gives_key_and_region() {
        let good = "AWS4-HMAC-SHA256 Credential=AKIA111122223333EXMP/20261128/eu-west-1/sso/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(
            credential(&headers(&[("authorization", good)])),
            Ok(("AKIA111122223333EXMP".into(), "eu-west-1".into()))
        );
        let missing = credential(&headers(&[])).unwrap_err();
        assert_eq!((missing.status, missing.code), (403, "MissingAuthenticationTokenException"));
        for bad in ["Basic abc", "AWS4-HMAC-SHA256 Signature=x", "AWS4-HMAC-SHA256 Credential=AKIA/20261128/eu-west-1"]
        {
            assert_eq!(
                credential(&headers(&[("authorization", bad)])).unwrap_err().code,
                "IncompleteSignatureException",
                "{bad}"
            );
        }
    }
}
