"""boto3 against the emulator: every operation's response parses under
botocore's model, and errors arrive as the modeled exception classes."""

import time

import pytest
from botocore.exceptions import ClientError
from conftest import client


@pytest.fixture
def sso(emulator_url):
    return client("sso-admin", emulator_url, key=f"AKIA{int(time.time_ns()) % 10**12:012d}XXXX")


def create_active(sso, name="platform"):
    arn = sso.create_instance(Name=name, ClientToken=f"token-{name}")["InstanceArn"]
    time.sleep(0.3)
    return arn


def test_every_operation_round_trips_under_the_model(sso):
    arn = create_active(sso)
    described = sso.describe_instance(InstanceArn=arn)
    assert described["Status"] == "ACTIVE"
    assert described["Name"] == "platform"
    assert described["IdentityStoreId"].startswith("d-")
    assert described["CreatedDate"].year >= 2026, "CreatedDate parses as a timestamp"
    sso.update_instance(InstanceArn=arn, Name="renamed")
    sso.tag_resource(InstanceArn=arn, ResourceArn=arn, Tags=[{"Key": "team", "Value": "id"}, {"Key": "env", "Value": ""}])
    tags = sso.list_tags_for_resource(InstanceArn=arn, ResourceArn=arn)["Tags"]
    assert sorted(t["Key"] for t in tags) == ["env", "team"]
    sso.untag_resource(InstanceArn=arn, ResourceArn=arn, TagKeys=["env"])
    listed = sso.list_instances()["Instances"]
    assert [(i["InstanceArn"], i["Name"], i["Status"]) for i in listed] == [(arn, "renamed", "ACTIVE")]
    assert sso.get_paginator("list_instances").paginate().build_full_result()["Instances"] == listed
    sso.delete_instance(InstanceArn=arn)
    assert sso.describe_instance(InstanceArn=arn)["Status"] == "DELETE_IN_PROGRESS"
    time.sleep(0.3)
    with pytest.raises(sso.exceptions.AccessDeniedException):
        sso.describe_instance(InstanceArn=arn)


def test_errors_are_the_modeled_exception_classes(emulator_url, sso):
    arn = create_active(sso)
    with pytest.raises(sso.exceptions.ConflictException):
        sso.create_instance(ClientToken="another")
    with pytest.raises(sso.exceptions.ValidationException) as invalid:
        sso.update_instance(InstanceArn=arn, Name="not valid!")
    assert "'name'" in invalid.value.response["Error"]["Message"]
    sso.tag_resource(ResourceArn=arn, Tags=[{"Key": f"a{i}", "Value": ""} for i in range(40)])
    with pytest.raises(sso.exceptions.ServiceQuotaExceededException):
        sso.tag_resource(ResourceArn=arn, Tags=[{"Key": f"b{i}", "Value": ""} for i in range(40)])
    management = client("sso-admin", emulator_url, key="AKIA999999999999XXXX")
    with pytest.raises(management.exceptions.ConflictException) as refused:
        management.create_instance(ClientToken="t")
    assert refused.value.response["Error"]["Message"] == "Organization management account is not allowed to perform the operation."
    faults = f"{emulator_url}/_emulator/faults"
    import urllib.request

    def put(body: bytes):
        urllib.request.urlopen(urllib.request.Request(faults, data=body, method="PUT"))

    put(b'{"rules":[{"operation":"ListInstances","throttle":1.0},{"operation":"DescribeInstance","serverError":1.0}]}')
    try:
        with pytest.raises(sso.exceptions.ThrottlingException):
            sso.list_instances()
        with pytest.raises(sso.exceptions.InternalServerException) as internal:
            sso.describe_instance(InstanceArn=arn)
        assert internal.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    finally:
        put(b"{}")


def test_create_failed_carries_the_status_reason(sso):
    arn = create_active(sso, name="doomed")
    described = sso.describe_instance(InstanceArn=arn)
    assert (described["Status"], described["StatusReason"]) == ("CREATE_FAILED", "Quota reached")


def test_sts_answers_parse_under_the_model(emulator_url):
    sts = client("sts", emulator_url)
    assert sts.get_caller_identity()["Account"] == "111122223333"
    assumed = sts.assume_role(RoleArn="arn:aws:iam::555566667777:role/admin", RoleSessionName="conformance")
    creds = assumed["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["Expiration"].year >= 2026
    as_role = client("sts", emulator_url, key=creds["AccessKeyId"])
    assert as_role.get_caller_identity()["Arn"] == "arn:aws:sts::555566667777:assumed-role/admin/conformance"
    with pytest.raises(ClientError) as invalid:
        sts.assume_role(RoleArn="arn:aws:iam::555566667777:role/admin", RoleSessionName="x", DurationSeconds=60)
    assert invalid.value.response["Error"]["Code"] == "ValidationError"
