// Command monitoring-check decodes the ServiceMonitor and PrometheusRule
// documents of rendered manifests into prometheus-operator's own Go types,
// refusing unknown fields, as the operator's admission would not: a field
// it does not know is silently dropped in a cluster and the alert or scrape
// it configured never happens.
//
//	monitoring-check -expect ServiceMonitor,PrometheusRule rendered.yaml...
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const group = "monitoring.coreos.com/v1"

func target(kind string) any {
	switch kind {
	case monitoringv1.ServiceMonitorsKind:
		return &monitoringv1.ServiceMonitor{}
	case monitoringv1.PrometheusRuleKind:
		return &monitoringv1.PrometheusRule{}
	case monitoringv1.PodMonitorsKind:
		return &monitoringv1.PodMonitor{}
	}
	return nil
}

// decodeStrict fills into from one JSON document, refusing unknown fields.
func decodeStrict(doc []byte, into any) error {
	decoder := json.NewDecoder(bytes.NewReader(doc))
	decoder.DisallowUnknownFields()
	return decoder.Decode(into)
}

func checkFile(path string, seen map[string]int) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(file))
	var failures []error
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		doc, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(doc, &head); err != nil || head.APIVersion != group {
			continue
		}
		into := target(head.Kind)
		if into == nil {
			failures = append(failures, fmt.Errorf("%s: %s %s: not a kind this check knows", path, head.Kind, head.Metadata.Name))
			continue
		}
		if err := decodeStrict(doc, into); err != nil {
			failures = append(failures, fmt.Errorf("%s: %s %s: %w", path, head.Kind, head.Metadata.Name, err))
			continue
		}
		seen[head.Kind]++
	}
	return errors.Join(failures...)
}

func main() {
	expect := flag.String("expect", "", "comma-separated kinds that must appear at least once")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: monitoring-check [-expect Kind,...] FILE...")
		os.Exit(2)
	}
	seen := map[string]int{}
	var failures []error
	for _, path := range flag.Args() {
		if err := checkFile(path, seen); err != nil {
			failures = append(failures, err)
		}
	}
	for _, kind := range strings.Split(*expect, ",") {
		if kind != "" && seen[kind] == 0 {
			failures = append(failures, fmt.Errorf("no %s found in %s", kind, strings.Join(flag.Args(), " ")))
		}
	}
	if err := errors.Join(failures...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for kind, n := range seen {
		fmt.Printf("%s: %d decoded strictly\n", kind, n)
	}
}
