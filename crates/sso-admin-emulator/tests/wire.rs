//! Bad input on the wire gets an AWS-shaped error: never a panic, never a hang.

use serde_json::Value;
use sso_admin_emulator::{Config, Emulator};
use test_support::http::{json, request};

const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIA111122223333TEST/20261128/eu-west-1/sso/aws4_request, SignedHeaders=host, Signature=0";

/// POSTs `body` to the emulator; returns status, lowercased headers and body.
async fn send(addr: std::net::SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let response = request("POST", &addr.to_string(), "/", headers, body).await;
    (response.status, response.head, response.body)
}

/// (what, headers, body, expected status, expected `__type`)
type WireCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [u8], u16, &'a str);

#[tokio::test]
async fn malformed_requests_get_aws_shaped_errors() {
    let running = Emulator::start(Config::default()).await.unwrap();
    let json = ("content-type", "application/x-amz-json-1.1");
    let target = |op| ("x-amz-target", op);
    let big = vec![b'x'; (1 << 20) + 10];
    let cases: Vec<WireCase> = vec![
        (
            "malformed JSON",
            vec![json, target("SWBExternalService.ListInstances"), ("authorization", AUTH)],
            b"{not json",
            400,
            "SerializationException",
        ),
        (
            "body not an object",
            vec![json, target("SWBExternalService.ListInstances"), ("authorization", AUTH)],
            b"[1]",
            400,
            "SerializationException",
        ),
        (
            "unknown target",
            vec![json, target("SWBExternalService.CreatePermissionSet"), ("authorization", AUTH)],
            b"{}",
            400,
            "UnknownOperationException",
        ),
        (
            "foreign target prefix",
            vec![json, target("AWSSecurityTokenServiceV20110615.GetCallerIdentity"), ("authorization", AUTH)],
            b"{}",
            400,
            "UnknownOperationException",
        ),
        ("missing target", vec![json, ("authorization", AUTH)], b"{}", 400, "UnknownOperationException"),
        (
            "missing authorization",
            vec![json, target("SWBExternalService.ListInstances")],
            b"{}",
            403,
            "MissingAuthenticationTokenException",
        ),
        (
            "malformed authorization",
            vec![json, target("SWBExternalService.ListInstances"), ("authorization", "AWS4-HMAC-SHA256 junk")],
            b"{}",
            400,
            "IncompleteSignatureException",
        ),
        (
            "oversized body",
            vec![json, target("SWBExternalService.ListInstances"), ("authorization", AUTH)],
            &big,
            413,
            "RequestEntityTooLargeException",
        ),
        (
            "wrong member type",
            vec![json, target("SWBExternalService.DescribeInstance"), ("authorization", AUTH)],
            br#"{"InstanceArn": 5}"#,
            400,
            "SerializationException",
        ),
    ];
    for (name, headers, body, status, code) in cases {
        let (got_status, head, body) = send(running.addr, &headers, body).await;
        assert_eq!(got_status, status, "{name}: {body}");
        let parsed: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {body}"));
        assert_eq!(parsed["__type"], code, "{name}");
        assert!(parsed["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}: a message");
        assert!(head.contains(&format!("x-amzn-errortype: {}", code.to_ascii_lowercase())), "{name}: {head}");
        assert!(head.contains("x-amzn-requestid:"), "{name}");
    }
}

#[tokio::test]
async fn sts_errors_use_the_query_protocol_error_layout() {
    let running = Emulator::start(Config::default()).await.unwrap();
    let form = ("content-type", "application/x-www-form-urlencoded");
    let (status, _, body) =
        send(running.addr, &[form, ("authorization", AUTH)], b"Action=DecodeAuthorizationMessage&Version=2011-06-15")
            .await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("<ErrorResponse")
            && body.contains("<Code>InvalidAction</Code>")
            && body.contains("<RequestId>"),
        "{body}"
    );
    let (status, _, body) =
        send(running.addr, &[form, ("authorization", AUTH)], b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=x")
            .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>ValidationError</Code>") && body.contains("roleArn"), "{body}");
}

#[tokio::test]
async fn control_endpoints_read_and_reset_the_call_log_and_set_faults() {
    let running = Emulator::start(Config::default()).await.unwrap();
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "SWBExternalService.ListInstances"),
        ("authorization", AUTH),
    ];
    send(running.addr, &headers, b"{}").await;
    let addr = running.addr.to_string();
    let (status, calls) = json("GET", &addr, "/_emulator/calls", "").await;
    assert_eq!(status, 200);
    assert!(
        calls.contains("\"operation\":\"ListInstances\"")
            && calls.contains("\"account\":\"111122223333\"")
            && calls.contains("\"accessKey\":\"AKIA111122223333TEST\""),
        "{calls}"
    );
    assert_eq!(json("DELETE", &addr, "/_emulator/calls", "").await.0, 204);
    assert!(running.emulator.calls().is_empty());
    let (status, body) =
        json("PUT", &addr, "/_emulator/faults", r#"{"rules":[{"operation":"ListInstances","throttle":1.0}]}"#).await;
    assert_eq!(status, 204, "{body}");
    let (status, _, body) = send(running.addr, &headers, b"{}").await;
    assert_eq!(status, 400);
    assert!(body.contains("ThrottlingException"));
}
