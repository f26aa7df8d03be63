package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const serviceMonitor = `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: operator
spec:
  selector:
    matchLabels: {app: operator}
  endpoints:
  - port: metrics
    %s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
data: {a: b}
`

func TestAKnownFieldDecodesAndAnUnknownOneIsRefused(t *testing.T) {
	seen := map[string]int{}
	if err := checkFile(write(t, strings.Replace(serviceMonitor, "%s", "interval: 30s", 1)), seen); err != nil {
		t.Fatalf("a valid ServiceMonitor was refused: %v", err)
	}
	if seen["ServiceMonitor"] != 1 {
		t.Fatalf("seen %v, want one ServiceMonitor and nothing else", seen)
	}
	err := checkFile(write(t, strings.Replace(serviceMonitor, "%s", "intervall: 30s", 1)), map[string]int{})
	if err == nil || !strings.Contains(err.Error(), "intervall") {
		t.Fatalf("a misspelt field was accepted or not named: %v", err)
	}
}

func TestAMonitoringKindTheCheckDoesNotKnowIsRefused(t *testing.T) {
	probe := "apiVersion: monitoring.coreos.com/v1\nkind: Probe\nmetadata: {name: p}\nspec: {}\n"
	if err := checkFile(write(t, probe), map[string]int{}); err == nil {
		t.Fatal("a Probe passed unchecked")
	}
}
