{{- define "kruise-rs.labels" -}}
app.kubernetes.io/name: kruise-rs
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* Non-empty when the operator keeps a node cache: the DaemonSet or BroadcastJob controller, or watchNodes. */}}
{{- define "kruise-rs.nodeAccess" -}}
{{- if .Values.watchNodes }}true{{ end }}
{{- if .Values.controllers.daemonset }}true{{ end }}
{{- if .Values.controllers.broadcastjob }}true{{ end }}
{{- end }}

{{/* Non-empty when the SidecarSet controller runs: it is on and the operator is cluster-wide. */}}
{{- define "kruise-rs.sidecarset" -}}
{{- if .Values.watchNamespace }}{{ else }}{{ if .Values.controllers.sidecarset }}true{{ end }}{{ end }}
{{- end }}

{{/* Non-empty when cluster-scoped kinds are read or written: SidecarSets (with Namespaces) or NodeImages. */}}
{{- define "kruise-rs.clusterAccess" -}}
{{- include "kruise-rs.sidecarset" . }}
{{- if .Values.controllers.imagepulljob }}true{{ end }}
{{- end }}
