{{- define "kruise-rs.labels" -}}
app.kubernetes.io/name: kruise-rs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* Non-empty when the operator keeps a node cache: the DaemonSet controller or watchNodes. */}}
{{- define "kruise-rs.nodeAccess" -}}
{{- if .Values.watchNodes }}true{{ end }}
{{- if .Values.controllers.daemonset }}true{{ end }}
{{- end }}
