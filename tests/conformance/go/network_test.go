package conformance

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/smithy-go"
)

const (
	vpc         = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0"
	application = "arn:aws:sso::111122223333:application/ssoins-0123456789abcdef/apl-0123456789abcdef"
)

var identityStoreArn = regexp.MustCompile(`^arn:aws:identitystore::(\d{12}):identitystore/(d-[0-9a-f]{10})$`)

func networkDetails(t *testing.T, sso *ssoadmin.Client, arn string) *types.NetworkConfigurationInfo {
	t.Helper()
	described, err := sso.DescribeInstance(context.Background(), &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return described.NetworkConfigurationDetails
}

func updateNetwork(sso *ssoadmin.Client, arn string, network types.NetworkConfigurationInfo) error {
	_, err := sso.UpdateInstance(context.Background(), &ssoadmin.UpdateInstanceInput{
		InstanceArn: aws.String(arn), NetworkConfiguration: &network,
	})
	return err
}

// same compares what matters of two configurations: the flag and the three lists (nil and empty alike).
func same(got *types.NetworkConfigurationInfo, want types.NetworkConfigurationInfo) bool {
	if got == nil || aws.ToBool(got.VpceAccessRequired) != aws.ToBool(want.VpceAccessRequired) {
		return false
	}
	lists := [][2][]string{
		{got.RestrictSourceVpcs, want.RestrictSourceVpcs},
		{got.AllowSourceIps, want.AllowSourceIps},
		{got.ExcludeApplicationArns, want.ExcludeApplicationArns},
	}
	for _, pair := range lists {
		if len(pair[0]) != len(pair[1]) || (len(pair[0]) > 0 && !reflect.DeepEqual(pair[0], pair[1])) {
			return false
		}
	}
	return true
}

func TestNetworkConfigurationIsSetReplacedWholeAndDescribed(t *testing.T) {
	sso, arn := activeInstance(t, "network")
	ctx := context.Background()
	described, err := sso.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if described.NetworkConfigurationDetails != nil {
		t.Fatalf("no configuration was set, got %+v", described.NetworkConfigurationDetails)
	}
	parts := identityStoreArn.FindStringSubmatch(aws.ToString(described.IdentityStoreArn))
	if parts == nil || parts[1] != aws.ToString(described.OwnerAccountId) || parts[2] != aws.ToString(described.IdentityStoreId) {
		t.Fatalf("IdentityStoreArn %q does not name the owner and the identity store", aws.ToString(described.IdentityStoreArn))
	}

	full := types.NetworkConfigurationInfo{
		VpceAccessRequired:     aws.Bool(true),
		RestrictSourceVpcs:     []string{vpc},
		AllowSourceIps:         []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"},
		ExcludeApplicationArns: []string{application},
	}
	if err := updateNetwork(sso, arn, full); err != nil {
		t.Fatal(err)
	}
	if got := networkDetails(t, sso, arn); !same(got, full) {
		t.Fatalf("described %+v, want %+v", got, full)
	}

	narrower := types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(true), AllowSourceIps: []string{"203.0.113.0/24"}}
	if err := updateNetwork(sso, arn, narrower); err != nil {
		t.Fatal(err)
	}
	if got := networkDetails(t, sso, arn); !same(got, narrower) {
		t.Fatalf("the omitted lists should be cleared: described %+v", got)
	}
	off := types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(false), AllowSourceIps: []string{"10.0.0.0/8"}}
	if err := updateNetwork(sso, arn, off); err != nil {
		t.Fatal(err)
	}
	if got := networkDetails(t, sso, arn); !same(got, types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(false)}) {
		t.Fatalf("VpceAccessRequired false should clear every list: described %+v", got)
	}
}

func TestOneKindOfChangePerUpdate(t *testing.T) {
	sso, arn := activeInstance(t, "kinds")
	_, err := sso.UpdateInstance(context.Background(), &ssoadmin.UpdateInstanceInput{
		InstanceArn:           aws.String(arn),
		NetworkConfiguration:  &types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(true)},
		PermissionSetsEnabled: aws.Bool(true),
	})
	code, message := serviceError(t, err)
	want := "PermissionSetsEnabled and NetworkConfiguration cannot be updated in the same request"
	if code != "ValidationException" || message != want {
		t.Fatalf("got %s: %s", code, message)
	}
	var validation *types.ValidationException
	if !errors.As(err, &validation) {
		t.Fatalf("want the modeled ValidationException, got %T", err)
	}
	if got := networkDetails(t, sso, arn); got != nil {
		t.Fatalf("nothing should have changed, got %+v", got)
	}
}

func TestNetworkConstraintsAsAGoUserSeesThem(t *testing.T) {
	sso, arn := activeInstance(t, "constraints")
	// The Go SDK checks required members before sending, and nothing else.
	err := updateNetwork(sso, arn, types.NetworkConfigurationInfo{AllowSourceIps: []string{"10.0.0.0/8"}})
	var invalid smithy.InvalidParamsError
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "VpceAccessRequired") {
		t.Fatalf("want a client-side InvalidParamsError naming VpceAccessRequired, got %v", err)
	}
	tooMany := make([]string, 51)
	for i := range tooMany {
		tooMany[i] = "10.0.0.1"
	}
	cases := []struct {
		network types.NetworkConfigurationInfo
		want    string
	}{
		{
			types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(true), AllowSourceIps: tooMany},
			"Value '51 items' at 'networkConfiguration.allowSourceIps' failed to satisfy constraint: Member must have length less than or equal to 50",
		},
		{
			types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(true), AllowSourceIps: []string{"10.0.0.0/33"}},
			"Value '10.0.0.0/33' at 'networkConfiguration.allowSourceIps.1' failed to satisfy constraint: Member must satisfy regular expression pattern",
		},
		{
			types.NetworkConfigurationInfo{VpceAccessRequired: aws.Bool(true), RestrictSourceVpcs: []string{"arn:aws:ec2"}},
			"at 'networkConfiguration.restrictSourceVpcs.1' failed to satisfy constraint: Member must have length greater than or equal to 43",
		},
	}
	for _, c := range cases {
		code, message := serviceError(t, updateNetwork(sso, arn, c.network))
		if code != "ValidationException" || !strings.Contains(message, c.want) {
			t.Errorf("got %s: %s; want a ValidationException containing %q", code, message, c.want)
		}
	}
}
