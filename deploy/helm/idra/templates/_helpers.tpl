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

{{- define "idra.image" -}}
{{ .root.Values.image.registry }}/idra-{{ .name }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
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
{{- $endpoints = append $endpoints (printf "http://%s-etcd-%d.%s.%s.svc:2379" $fullname $i $headless $.Release.Namespace) -}}
{{- end -}}
{{- join "," $endpoints -}}
{{- else -}}
{{- required "etcd.externalEndpoints is required when etcd.bundled is false" (join "," .Values.etcd.externalEndpoints) -}}
{{- end -}}
{{- end -}}

{{/* What the API server and the agents share: etcd address, prefix, credentials, the secret key. */}}
{{- define "idra.etcdEnv" -}}
- name: IDRA_ETCD_ENDPOINTS
  value: {{ include "idra.etcdEndpoints" . | quote }}
- name: IDRA_ETCD_PREFIX
  value: {{ .Values.etcd.prefix | quote }}
- name: IDRA_ETCD_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ include "idra.secretName" . }}, key: {{ .Values.secrets.keys.etcdUsername }}, optional: true }
- name: IDRA_ETCD_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ include "idra.secretName" . }}, key: {{ .Values.secrets.keys.etcdPassword }}, optional: true }
{{- if .Values.etcd.tlsSecret }}
- name: IDRA_ETCD_CA
  value: /etc/idra/etcd-tls/ca.crt
- name: IDRA_ETCD_CERT
  value: /etc/idra/etcd-tls/tls.crt
- name: IDRA_ETCD_KEY
  value: /etc/idra/etcd-tls/tls.key
{{- end }}
- name: IDRA_SECRET_KEY
  valueFrom:
    secretKeyRef: { name: {{ include "idra.secretName" . }}, key: {{ .Values.secrets.keys.secretKey }} }
- name: IDRA_LOG_FORMAT
  value: json
{{- end -}}

{{- define "idra.etcdTlsVolume" -}}
{{- if .Values.etcd.tlsSecret }}
- name: etcd-tls
  secret:
    secretName: {{ .Values.etcd.tlsSecret }}
{{- end }}
{{- end -}}

{{- define "idra.etcdTlsMount" -}}
{{- if .Values.etcd.tlsSecret }}
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
