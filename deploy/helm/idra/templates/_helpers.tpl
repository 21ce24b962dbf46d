{{/* Name of the release's objects: "<release>-idra", or the release name when it already says idra. */}}
{{- define "idra.fullname" -}}
{{- if contains "idra" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-idra" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; `component` names the part (agent, api-server, web-ui, etcd). */}}
{{- define "idra.labels" -}}
app.kubernetes.io/name: idra
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "idra.selectorLabels" -}}
app.kubernetes.io/name: idra
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* <registry>/idra-<name>:<tag>, or @<digest> when the component's digest is set. `key` names its values under image. */}}
{{- define "idra.image" -}}
{{- $own := index .root.Values.image .key -}}
{{- if $own.digest -}}
{{ .root.Values.image.registry }}/idra-{{ .name }}@{{ $own.digest }}
{{- else -}}
{{ .root.Values.image.registry }}/idra-{{ .name }}:{{ $own.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "idra.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "idra.fullname" .) -}}
{{- end -}}

{{/* Pod settings every Idra pod shares: its ServiceAccount, no Kubernetes API token, pull secrets. */}}
{{- define "idra.podIdentity" -}}
serviceAccountName: {{ include "idra.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Replicas spread over nodes and zones as far as the cluster allows (never left pending for it). */}}
{{- define "idra.topologySpread" -}}
{{- if .values.topologySpread }}
topologySpreadConstraints:
  {{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ $key }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "idra.selectorLabels" $.component | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "idra.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "idra.fullname" .) -}}
{{- end -}}

{{- define "idra.etcdHeadless" -}}
{{ include "idra.fullname" . }}-etcd-headless
{{- end -}}

{{/* IDRA_ETCD_ENDPOINTS: every member of the bundled etcd, or the external endpoints. */}}
{{- define "idra.etcdEndpoints" -}}
{{- if .Values.etcd.bundled -}}
{{- $fullname := include "idra.fullname" . -}}
{{- $headless := include "idra.etcdHeadless" . -}}
{{- $endpoints := list -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{- $endpoints = append $endpoints (printf "https://%s-etcd-%d.%s.%s.svc:2379" $fullname $i $headless $.Release.Namespace) -}}
{{- end -}}
{{- join "," $endpoints -}}
{{- else -}}
{{- required "etcd.externalEndpoints is required when etcd.bundled is false" (join "," .Values.etcd.externalEndpoints) -}}
{{- end -}}
{{- end -}}

{{/* The Secret clients read etcd's CA (and client certificate) from: "" = plain HTTP. */}}
{{- define "idra.etcdClientTlsSecret" -}}
{{- if .Values.etcd.tlsSecret -}}
{{- .Values.etcd.tlsSecret -}}
{{- else if .Values.etcd.bundled -}}
{{- include "idra.fullname" . }}-etcd-ca
{{- end -}}
{{- end -}}

{{/* What the API server and the agents share: etcd address, TLS, prefix, the secret key; `user` and `passwordKey` are the component's etcd login. */}}
{{- define "idra.etcdEnv" -}}
{{- $root := .root -}}
- name: IDRA_ETCD_ENDPOINTS
  value: {{ include "idra.etcdEndpoints" $root | quote }}
- name: IDRA_ETCD_PREFIX
  value: {{ $root.Values.etcd.prefix | quote }}
{{- if $root.Values.etcd.auth }}
- name: IDRA_ETCD_USERNAME
  value: {{ .user }}
- name: IDRA_ETCD_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "idra.secretName" $root }}, key: {{ .passwordKey }} }
{{- end }}
{{- if include "idra.etcdClientTlsSecret" $root }}
- name: IDRA_ETCD_CA
  value: /etc/idra/etcd-tls/ca.crt
{{- if $root.Values.etcd.clientCert }}
- name: IDRA_ETCD_CERT
  value: /etc/idra/etcd-tls/tls.crt
- name: IDRA_ETCD_KEY
  value: /etc/idra/etcd-tls/tls.key
{{- end }}
{{- end }}
- name: IDRA_SECRET_KEY
  valueFrom:
    secretKeyRef: { name: {{ include "idra.secretName" $root }}, key: {{ $root.Values.secrets.keys.secretKey }} }
- name: IDRA_LOG_FORMAT
  value: json
{{- end -}}

{{- define "idra.etcdTlsVolume" -}}
{{- with include "idra.etcdClientTlsSecret" . }}
- name: etcd-tls
  secret:
    secretName: {{ . }}
{{- end }}
{{- end -}}

{{- define "idra.etcdTlsMount" -}}
{{- if include "idra.etcdClientTlsSecret" . }}
- name: etcd-tls
  mountPath: /etc/idra/etcd-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* Pod-level hardening shared by every Idra pod. */}}
{{- define "idra.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "idra.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "idra.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A NetworkPolicy peer: the release's pods of one component. */}}
{{- define "idra.peer" -}}
- podSelector:
    matchLabels:
      {{- include "idra.selectorLabels" . | nindent 6 }}
{{- end -}}
