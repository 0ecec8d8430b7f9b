{{/*
Fixed facts about each component: folder (image name), settings prefix, port, whether it owns a
database, links (<PREFIX><KEY> set to another component's internal URL) and its own secrets
(<PREFIX><KEY> from the value <component>.<value>, with the service's dev default). They mirror
deploy/docker/generate.py; deploy/tests check that the two agree.
*/}}
{{- define "tongban.components" -}}
gateway: {svcDir: gateway, prefix: GATEWAY_, port: 8000, database: false, links: {UPSTREAM_CATALOGUE: catalogue, UPSTREAM_CASE: case, UPSTREAM_IDENTITY: identity, UPSTREAM_ESEAL: eseal, UPSTREAM_EXCHANGE: exchange}}
catalogue: {svcDir: catalogue-svc, prefix: CATALOGUE_, port: 8001, database: true, links: {}}
case: {svcDir: case-svc, prefix: CASE_, port: 8002, database: true, links: {CATALOGUE_URL: catalogue}}
identity: {svcDir: identity-svc, prefix: IDENTITY_, port: 8003, database: true, links: {}}
eseal: {svcDir: eseal-svc, prefix: ESEAL_, port: 8004, database: true, links: {}, secrets: {KEK: {value: kek, dev: dG9uZ2Jhbi1kZXYta2VrIQ==}}}
exchange: {svcDir: data-exchange-svc, prefix: EXCHANGE_, port: 8005, database: true, links: {CASE_URL: case}}
{{- end }}

{{- define "tongban.componentNames" -}}
[gateway, catalogue, case, identity, eseal, exchange]
{{- end }}

{{/* The dev defaults of tongban_kit.settings; only global.env=dev may render them. */}}
{{- define "tongban.devDefaults" -}}
subjectHashKey: dev-subject-hash-key-not-for-production
fieldKey: ZGV2LWZpZWxkLWtleS0zMmJ5dGVzLW5vdC1zZWNyZXQ
clientSecret: dev-service-secret
{{- end }}

{{- define "tongban.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{- define "tongban.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "tongban.labels" -}}
helm.sh/chart: {{ include "tongban.chart" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tongban
{{- end }}

{{/* Selects every pod of the release (services and hook jobs). Args: root context. */}}
{{- define "tongban.releaseSelector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selects one component's pods. Args: dict root name. */}}
{{- define "tongban.selectorLabels" -}}
{{ include "tongban.releaseSelector" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Args: dict root name. */}}
{{- define "tongban.componentFullname" -}}
{{- printf "%s-%s" (include "tongban.fullname" .root) .name -}}
{{- end }}

{{/* Image of a component. Args: dict root name. */}}
{{- define "tongban.image" -}}
{{- $c := index .root.Values .name -}}
{{- $m := index (fromYaml (include "tongban.components" .root)) .name -}}
{{- $img := .root.Values.image -}}
{{- $repo := $c.image.repository -}}
{{- if not $repo -}}
{{- $repo = printf "%s/%s" $img.repositoryPrefix $m.svcDir -}}
{{- if $img.registry -}}{{- $repo = printf "%s/%s" $img.registry $repo -}}{{- end -}}
{{- end -}}
{{- $tag := $c.image.tag | default $img.tag | default .root.Chart.AppVersion -}}
{{- if hasPrefix "sha256:" $tag -}}
{{- printf "%s@%s" $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end }}

{{- define "tongban.isDev" -}}
{{- if eq .Values.global.env "dev" -}}true{{- end -}}
{{- end }}

{{/*
A secret value: the given one, else the dev default in global.env=dev, else fail. Outside dev a
value equal to the dev default is refused too. Args: dict root value devDefault what hint.
*/}}
{{- define "tongban.secretValue" -}}
{{- $dev := eq .root.Values.global.env "dev" -}}
{{- if .value -}}
{{- if and (not $dev) .devDefault (eq (toString .value) .devDefault) -}}
{{- fail (printf "tongban: %s is the public dev default; outside global.env=dev give a real secret" .what) -}}
{{- end -}}
{{- .value -}}
{{- else if and $dev .devDefault -}}
{{- .devDefault -}}
{{- else -}}
{{- fail (printf "tongban: %s is empty. %s (Only a throwaway install may use global.env=dev, which fills in public dev defaults.)" .what .hint) -}}
{{- end -}}
{{- end }}

{{- define "tongban.sharedSecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-shared" (include "tongban.fullname" .)) -}}
{{- end }}

{{/* Args: dict root name. */}}
{{- define "tongban.componentSecretName" -}}
{{- $c := index .root.Values .name -}}
{{- $c.existingSecret | default (include "tongban.componentFullname" .) -}}
{{- end }}

{{/* Database URL of a component given inline (dev: a per-pod SQLite file). Args: dict root name. */}}
{{- define "tongban.databaseUrl" -}}
{{- $c := index .root.Values .name -}}
{{- $m := index (fromYaml (include "tongban.components" .root)) .name -}}
{{- $dev := eq .root.Values.global.env "dev" -}}
{{- if and $c.databaseUrl (not $dev) (hasPrefix "sqlite" $c.databaseUrl) -}}
{{- fail (printf "tongban: %s.databaseUrl is SQLite; outside global.env=dev every replica would have its own database: give a PostgreSQL URL (postgresql+asyncpg://...)" .name) -}}
{{- end -}}
{{- $hint := printf "Give it, or name %s.existingSecret (a Secret with the key %sDATABASE_URL)." .name $m.prefix -}}
{{- $devDefault := printf "sqlite+aiosqlite:////tmp/%s.db" .name -}}
{{- include "tongban.secretValue" (dict "root" .root "value" $c.databaseUrl "devDefault" $devDefault "what" (printf "%s.databaseUrl" .name) "hint" $hint) -}}
{{- end }}

{{/*
Whether a component gets a migration hook Job: it owns a database, migrations are enabled and the
database is a server (a dev SQLite file lives in the pod, so the pod migrates it on start).
Args: dict root name.
*/}}
{{- define "tongban.migrationJob" -}}
{{- $c := index .root.Values .name -}}
{{- $m := index (fromYaml (include "tongban.components" .root)) .name -}}
{{- if and $c.enabled $m.database .root.Values.migrations.enabled -}}
{{- if or $c.existingSecret (and $c.databaseUrl (not (hasPrefix "sqlite" $c.databaseUrl))) -}}true{{- end -}}
{{- end -}}
{{- end }}

{{- define "tongban.kafkaBootstrap" -}}
{{- if .Values.kafka.bootstrap -}}
{{- .Values.kafka.bootstrap -}}
{{- else if eq .Values.global.env "dev" -}}
{{- printf "%s-kafka:9092" .Release.Name -}}
{{- else -}}
{{- fail "tongban: kafka.bootstrap is empty; give the Kafka bootstrap servers (host:port,host:port)" -}}
{{- end -}}
{{- end }}

{{- define "tongban.publicUrl" -}}
{{- if .Values.global.publicUrl -}}
{{- .Values.global.publicUrl | trimSuffix "/" -}}
{{- else if eq .Values.global.env "dev" -}}
http://tongban.localhost
{{- else -}}
{{- fail "tongban: global.publicUrl is empty; give the gateway's external address (the token issuer is <publicUrl>/identity)" -}}
{{- end -}}
{{- end }}

{{- define "tongban.identityUrl" -}}
{{- if .Values.global.identityUrl -}}
{{- .Values.global.identityUrl | trimSuffix "/" -}}
{{- else -}}
{{- printf "http://%s-identity:8003" (include "tongban.fullname" .) -}}
{{- end -}}
{{- end }}

{{- define "tongban.kafkaSasl" -}}
{{- if .Values.kafka.saslMechanism -}}true{{- end -}}
{{- end }}

{{/* Pod-level security context shared by services and hook jobs. */}}
{{- define "tongban.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "tongban.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Environment of the Kafka CA bundle, when one is mounted. */}}
{{- define "tongban.kafkaCaEnv" -}}
- name: SSL_CERT_FILE
  value: /etc/tongban/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}

{{- define "tongban.kafkaCaMount" -}}
- name: kafka-ca
  mountPath: /etc/tongban/kafka-ca
  readOnly: true
{{- end }}

{{- define "tongban.kafkaCaVolume" -}}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
    items:
      - key: {{ .Values.kafka.tls.caKey }}
        path: {{ .Values.kafka.tls.caKey }}
{{- end }}

{{- define "tongban.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{/* A component whose database is the dev per-pod SQLite file (one replica, no autoscaling). Args: dict root name. */}}
{{- define "tongban.devSqlite" -}}
{{- $c := index .root.Values .name -}}
{{- $m := index (fromYaml (include "tongban.components" .root)) .name -}}
{{- if and $m.database (eq .root.Values.global.env "dev") (not $c.existingSecret) -}}
{{- if or (not $c.databaseUrl) (hasPrefix "sqlite" $c.databaseUrl) -}}true{{- end -}}
{{- end -}}
{{- end }}

{{/* Internal URL of a component's Service. Args: dict root name. */}}
{{- define "tongban.internalUrl" -}}
{{- $m := index (fromYaml (include "tongban.components" .root)) .name -}}
{{- printf "http://%s:%v" (include "tongban.componentFullname" .) $m.port -}}
{{- end }}
