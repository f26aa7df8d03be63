{{/*
Chart name, truncated to 63 characters (DNS label).
*/}}
{{- define "ico.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release name + chart name unless the release name already
contains the chart name. Room is left for the "-emulator" and
"-leader-election" suffixes.
*/}}
{{- define "ico.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 46 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 46 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 46 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ico.emulatorFullname" -}}
{{- printf "%s-emulator" (include "ico.fullname" .) }}
{{- end }}

{{- define "ico.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every object of the release.
*/}}
{{- define "ico.commonLabels" -}}
helm.sh/chart: {{ include "ico.chart" . }}
app.kubernetes.io/name: {{ include "ico.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ (default .Chart.AppVersion .Values.image.tag) | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: identity-center-operator
{{- end }}

{{- define "ico.labels" -}}
{{ include "ico.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "ico.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ico.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "ico.emulatorLabels" -}}
{{ include "ico.commonLabels" . }}
app.kubernetes.io/component: emulator
{{- end }}

{{- define "ico.emulatorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ico.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: emulator
{{- end }}

{{/*
Service account used by the operator pods.
*/}}
{{- define "ico.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ico.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Operator image reference: repository@digest, else repository:tag
(tag defaults to the chart's appVersion).
*/}}
{{- define "ico.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Emulator image (sso-admin-emulator): by digest, else by tag, else the chart's appVersion.
*/}}
{{- define "ico.emulatorImage" -}}
{{- $img := .Values.emulator.image }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{- define "ico.emulatorPullPolicy" -}}
{{- default .Values.image.pullPolicy .Values.emulator.image.pullPolicy }}
{{- end }}

{{/*
"true" when leader election is on: forced by a value, or more than one replica.
*/}}
{{- define "ico.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end }}
{{- end }}

{{- define "ico.leaseName" -}}
{{- default (include "ico.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
Endpoint of the in-cluster emulator.
*/}}
{{- define "ico.emulatorUrl" -}}
{{- printf "http://%s.%s.svc:%d" (include "ico.emulatorFullname" .) .Release.Namespace (int .Values.emulator.port) }}
{{- end }}

{{/*
Rules the operator needs on its objects, wherever it watches them.
Nothing else: no secrets, no namespaces, no CRDs.
*/}}
{{- define "ico.rbacRules" -}}
# Exactly what the operator calls: watch and patch its objects (finalizer),
# read and apply their status, publish events, apply exportTo ConfigMaps;
# for instance sets, create and delete their children (IdentityCenterInstances
# that a set owns) and write the sets' status.
- apiGroups: ["identitycenter.dev"]
  resources: ["identitycenterinstances"]
  verbs: ["get", "list", "watch", "patch", "create", "delete"]
- apiGroups: ["identitycenter.dev"]
  resources: ["identitycenterinstances/status"]
  verbs: ["get", "patch"]
- apiGroups: ["identitycenter.dev"]
  resources: ["identitycenterinstancesets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["identitycenter.dev"]
  resources: ["identitycenterinstancesets/status"]
  verbs: ["get", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
The `helm test` hook (templates/tests/): its objects' name, labels and image.
*/}}
{{- define "ico.testsName" -}}
{{- printf "%s-test" (include "ico.fullname" .) }}
{{- end }}

{{- define "ico.testsLabels" -}}
{{ include "ico.commonLabels" . }}
app.kubernetes.io/component: test
{{- end }}

{{- define "ico.testsSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ico.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}

{{- define "ico.testsImage" -}}
{{- $img := .Values.tests.image }}
{{- if eq $img.tag "latest" }}
{{- fail "tests.image.tag: latest is not a pinned tag; name a version (or set tests.image.digest)" }}
{{- end }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else if $img.tag }}
{{- printf "%s:%s" $img.repository $img.tag }}
{{- else }}
{{- fail "tests.image needs a tag or a digest: the test image is pinned, never latest" }}
{{- end }}
{{- end }}
