package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/smithy-go"
)

const (
	// ownerElsewhere owns an account instance in eu-west-1 from the start and sees
	// eleven instances of other accounts in us-east-1 and ap-south-1.
	ownerElsewhere = "555566667777"
	abacDelay      = 300 * time.Millisecond
	// startLimit bounds the wait for the emulator to answer its health check.
	startLimit = 30 * time.Second
)

// endpoint is the running emulator's URL, set by TestMain.
var endpoint string

// accounts hands each test an account of its own, so tests never share an instance.
var accounts atomic.Int64

func init() { accounts.Store(200000000000) }

func settings() string {
	var b strings.Builder
	fmt.Fprintf(&b, "createSeconds: 0.2\naccessControlAttributeSeconds: %g\n", abacDelay.Seconds())
	b.WriteString("failAccessControlAttributes:\n- {name: doomed-abac, reason: Attribute mapping rejected}\n")
	fmt.Fprintf(&b, "instances:\n- {account: '%s', region: eu-west-1}\n", ownerElsewhere)
	for i := 0; i < 11; i++ {
		region := [2]string{"us-east-1", "ap-south-1"}[i%2]
		fmt.Fprintf(&b, "- {account: '9999999999%02d', region: %s, visibleTo: ['%s']}\n", i, region, ownerElsewhere)
	}
	return b.String()
}

func freeLoopbackPort() (int, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

func waitUntilHealthy(url string, process *exec.Cmd, exited <-chan error) error {
	client := http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(startLimit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited: %v", process.Path, err)
		default:
		}
		if response, err := client.Get(url + "/_emulator/health"); err == nil {
			response.Body.Close()
			if response.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s did not answer within %s", url, startLimit)
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binary := os.Getenv("EMULATOR_BIN")
	if binary == "" {
		fmt.Fprintln(os.Stderr, "EMULATOR_BIN must name the sso-admin-emulator binary")
		return 1
	}
	dir, err := os.MkdirTemp("", "go-conformance")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	config := filepath.Join(dir, "emulator.yaml")
	if err := os.WriteFile(config, []byte(settings()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	port, err := freeLoopbackPort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	process := exec.Command(binary, "--listen", listen, "--config", config)
	if err := process.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- process.Wait() }()
	defer func() {
		_ = process.Process.Kill()
		<-exited
	}()
	endpoint = "http://" + listen
	if err := waitUntilHealthy(endpoint, process, exited); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// client signs as `account` (the emulator reads the account from the access key) in `region`, without retries.
func client(account, region string) *ssoadmin.Client {
	config := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIA"+account+"TEST", "secret", ""),
	}
	return ssoadmin.NewFromConfig(config, func(o *ssoadmin.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}

func newAccount() string {
	return fmt.Sprintf("%012d", accounts.Add(1))
}

// activeInstance creates an instance for a new account in eu-west-1 and waits until it is ACTIVE.
func activeInstance(t *testing.T, name string) (*ssoadmin.Client, string) {
	t.Helper()
	sso := client(newAccount(), "eu-west-1")
	ctx := context.Background()
	created, err := sso.CreateInstance(ctx, &ssoadmin.CreateInstanceInput{
		Name: aws.String(name), ClientToken: aws.String("token-" + name),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		described, err := sso.DescribeInstance(ctx, &ssoadmin.DescribeInstanceInput{InstanceArn: created.InstanceArn})
		if err != nil {
			t.Fatal(err)
		}
		if described.Status == "ACTIVE" {
			return sso, *created.InstanceArn
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became ACTIVE", *created.InstanceArn)
	return nil, ""
}

// serviceError is the API error a call failed with: its code and message.
func serviceError(t *testing.T, err error) (string, string) {
	t.Helper()
	var apiError smithy.APIError
	if !errors.As(err, &apiError) {
		t.Fatalf("want a service error, got %v", err)
	}
	return apiError.ErrorCode(), apiError.ErrorMessage()
}
