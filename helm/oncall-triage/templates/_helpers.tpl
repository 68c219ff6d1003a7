{{/* Names and labels. */}}
{{- define "oncall-triage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oncall-triage.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "oncall-triage.redisName" -}}
{{- printf "%s-redis" (include "oncall-triage.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries besides its selector labels. */}}
{{- define "oncall-triage.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: oncall-triage
{{- end -}}

{{- define "oncall-triage.labels" -}}
{{ include "oncall-triage.commonLabels" . }}
app.kubernetes.io/name: {{ include "oncall-triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oncall-triage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oncall-triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: bot
{{- end -}}

{{- define "oncall-triage.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "oncall-triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end -}}

{{- define "oncall-triage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "oncall-triage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "oncall-triage.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Whether the chart runs its own Redis: only when no external one is named. */}}
{{- define "oncall-triage.redisBundled" -}}
{{- if not (or .Values.redis.external.url .Values.redis.external.existingSecret) -}}true{{- end -}}
{{- end -}}

{{- define "oncall-triage.redisSecretName" -}}
{{- default (include "oncall-triage.redisName" .) .Values.redis.bundled.auth.existingSecret -}}
{{- end -}}

{{/* Namespaces the bot reads (namespaced scope): the listed ones, or the release's. */}}
{{- define "oncall-triage.readNamespaces" -}}
{{- $namespaces := .Values.rbac.namespaces | default (list .Release.Namespace) -}}
{{- toJson (uniq $namespaces) -}}
{{- end -}}

{{/*
A Kubernetes memory quantity as bytes: an integer with an optional Ki, Mi, Gi, Ti, k, M, G or T
suffix (what a memory limit is written with). Anything else fails the render with a message.
*/}}
{{- define "oncall-triage.bytes" -}}
{{- $quantity := .quantity -}}
{{- if or (kindIs "float64" $quantity) (kindIs "int64" $quantity) (kindIs "int" $quantity) -}}
{{- $quantity = $quantity | int64 | toString -}}
{{- else -}}
{{- $quantity = toString $quantity -}}
{{- end -}}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "" 1 -}}
{{- $match := regexFindAll "^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$" $quantity 1 -}}
{{- if not $match -}}
{{- fail (printf "%s %q: write it as an integer with Ki, Mi, Gi, Ti, k, M, G or T (e.g. 256Mi)" .what $quantity) -}}
{{- end -}}
{{- $number := regexReplaceAll "^([0-9]+).*$" $quantity "${1}" | int64 -}}
{{- $unit := regexReplaceAll "^[0-9]+" $quantity "" -}}
{{- mul $number (get $units $unit) -}}
{{- end -}}

{{/* The bundled Redis's maxmemory in bytes: maxmemoryPercent of its container memory limit. */}}
{{- define "oncall-triage.redisMaxmemory" -}}
{{- $bundled := .Values.redis.bundled -}}
{{- $limit := $bundled.resources.limits.memory | default "" -}}
{{- if not $limit -}}
{{- fail "redis.bundled.resources.limits.memory is required: maxmemory is set below it" -}}
{{- end -}}
{{- $percent := $bundled.maxmemoryPercent | int -}}
{{- if or (lt $percent 10) (gt $percent 90) -}}
{{- fail (printf "redis.bundled.maxmemoryPercent %d: keep it between 10 and 90 so forks and buffers fit under the limit" $percent) -}}
{{- end -}}
{{- $bytes := include "oncall-triage.bytes" (dict "quantity" $limit "what" "redis.bundled.resources.limits.memory") | int64 -}}
{{- div (mul $bytes $percent) 100 -}}
{{- end -}}
