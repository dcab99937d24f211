{{/* Names and labels shared by every object of the release. */}}
{{- define "evpn.name" -}}evpn-ecmp{{- end -}}

{{- define "evpn.fullname" -}}
{{- if contains "evpn-ecmp" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-evpn-ecmp" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "evpn.labels" -}}
app.kubernetes.io/name: {{ include "evpn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "evpn.selector" -}}
app.kubernetes.io/name: {{ include "evpn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* repository@digest when a digest is given (the tag is then not used), else repository:tag. */}}
{{- define "evpn.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "evpn.operatorServiceAccount" -}}{{ include "evpn.fullname" . }}-operator{{- end -}}
{{- define "evpn.agentServiceAccount" -}}{{ include "evpn.fullname" . }}-agent{{- end -}}
