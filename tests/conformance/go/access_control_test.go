package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
)

// attributes builds a configuration from key, source pairs.
func attributes(pairs ...[2]string) *types.InstanceAccessControlAttributeConfiguration {
	list := make([]types.AccessControlAttribute, 0, len(pairs))
	for _, pair := range pairs {
		list = append(list, types.AccessControlAttribute{
			Key: aws.String(pair[0]), Value: &types.AccessControlAttributeValue{Source: []string{pair[1]}},
		})
	}
	return &types.InstanceAccessControlAttributeConfiguration{AccessControlAttributes: list}
}

// abac wraps the four operations for one instance.
type abac struct {
	sso *ssoadmin.Client
	arn *string
}

func (a abac) create(configuration *types.InstanceAccessControlAttributeConfiguration) error {
	_, err := a.sso.CreateInstanceAccessControlAttributeConfiguration(context.Background(),
		&ssoadmin.CreateInstanceAccessControlAttributeConfigurationInput{
			InstanceArn: a.arn, InstanceAccessControlAttributeConfiguration: configuration,
		})
	return err
}

func (a abac) update(configuration *types.InstanceAccessControlAttributeConfiguration) error {
	_, err := a.sso.UpdateInstanceAccessControlAttributeConfiguration(context.Background(),
		&ssoadmin.UpdateInstanceAccessControlAttributeConfigurationInput{
			InstanceArn: a.arn, InstanceAccessControlAttributeConfiguration: configuration,
		})
	return err
}

func (a abac) describe() (*ssoadmin.DescribeInstanceAccessControlAttributeConfigurationOutput, error) {
	return a.sso.DescribeInstanceAccessControlAttributeConfiguration(context.Background(),
		&ssoadmin.DescribeInstanceAccessControlAttributeConfigurationInput{InstanceArn: a.arn})
}

func (a abac) delete() error {
	_, err := a.sso.DeleteInstanceAccessControlAttributeConfiguration(context.Background(),
		&ssoadmin.DeleteInstanceAccessControlAttributeConfigurationInput{InstanceArn: a.arn})
	return err
}

func expectCode(t *testing.T, err error, want string) {
	t.Helper()
	if code, message := serviceError(t, err); code != want {
		t.Fatalf("got %s: %s; want %s", code, message, want)
	}
}

func settle() { time.Sleep(abacDelay + 200*time.Millisecond) }

func keys(configuration *types.InstanceAccessControlAttributeConfiguration) []string {
	var out []string
	for _, attribute := range configuration.AccessControlAttributes {
		out = append(out, aws.ToString(attribute.Key))
	}
	return out
}

func TestAccessControlAttributesLifecycle(t *testing.T) {
	sso, arn := activeInstance(t, "abac")
	a := abac{sso, aws.String(arn)}
	_, err := a.describe()
	expectCode(t, err, "ResourceNotFoundException")
	expectCode(t, a.update(attributes([2]string{"team", "x"})), "ResourceNotFoundException")
	expectCode(t, a.delete(), "ResourceNotFoundException")

	if err := a.create(attributes([2]string{"team", "${path:enterprise.department}"}, [2]string{"cost-center", "${path:enterprise.costCenter}"})); err != nil {
		t.Fatal(err)
	}
	creating, err := a.describe()
	if err != nil {
		t.Fatal(err)
	}
	if creating.Status != types.InstanceAccessControlAttributeConfigurationStatusCreationInProgress {
		t.Fatalf("status %s", creating.Status)
	}
	if got := keys(creating.InstanceAccessControlAttributeConfiguration); strings.Join(got, ",") != "team,cost-center" {
		t.Fatalf("keys %v", got)
	}
	expectCode(t, a.create(attributes([2]string{"a", "b"})), "ConflictException")
	expectCode(t, a.update(attributes([2]string{"a", "b"})), "ConflictException")

	settle()
	enabled, err := a.describe()
	if err != nil {
		t.Fatal(err)
	}
	if enabled.Status != types.InstanceAccessControlAttributeConfigurationStatusEnabled || enabled.StatusReason != nil {
		t.Fatalf("status %s, reason %v", enabled.Status, aws.ToString(enabled.StatusReason))
	}
	if err := a.update(attributes([2]string{"project", "${path:enterprise.division}"})); err != nil {
		t.Fatal(err)
	}
	updated, err := a.describe()
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(updated.InstanceAccessControlAttributeConfiguration); strings.Join(got, ",") != "project" {
		t.Fatalf("Update should replace the attributes, got %v", got)
	}
	if err := a.delete(); err != nil {
		t.Fatal(err)
	}
	_, err = a.describe()
	expectCode(t, err, "ResourceNotFoundException")
}

func TestAccessControlAttributesRefusalsAndFailure(t *testing.T) {
	sso, arn := activeInstance(t, "doomed-abac")
	a := abac{sso, aws.String(arn)}
	err := a.create(attributes([2]string{"team", "a"}, [2]string{"team", "b"}))
	if code, message := serviceError(t, err); code != "ValidationException" || !strings.Contains(message, "Duplicate access control attribute key team") {
		t.Fatalf("got %s: %s", code, message)
	}
	stranger := abac{client(newAccount(), "eu-west-1"), aws.String(arn)}
	_, err = stranger.describe()
	expectCode(t, err, "AccessDeniedException")

	if err := a.create(attributes([2]string{"team", "a"})); err != nil {
		t.Fatal(err)
	}
	settle()
	failed, err := a.describe()
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != types.InstanceAccessControlAttributeConfigurationStatusCreationFailed ||
		aws.ToString(failed.StatusReason) != "Attribute mapping rejected" {
		t.Fatalf("status %s, reason %q", failed.Status, aws.ToString(failed.StatusReason))
	}
}
