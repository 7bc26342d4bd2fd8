/// The OpenAPI 3.1 description of the whole HTTP API, served at `GET /openapi.yaml`.
///
/// Kept in the binary rather than as a resource bundle so a copied binary still serves
/// it. A test checks that it lists exactly the routes the router has; `schemathesis`
/// in `.ci/run` checks the live server against it.
public enum OpenAPIDocument {
    public static let yaml = #"""
openapi: 3.1.0
info:
  title: alertbridge
  version: "1"
  description: >
    Turns monitoring alerts into deduplicated incidents and pages people through a tiered
    escalation policy. All times are RFC 3339 UTC. Errors are `{"error": ..., "field": ...}`,
    except on /v2/enqueue, which answers in PagerDuty's shape.
servers:
  - url: http://127.0.0.1:8080
security:
  - bearer: []
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
      description: >
        A token from alertbridge.yaml. Ingest endpoints need the `ingest` scope, incident
        endpoints the `operate` scope. With no token configured (protected mode, loopback
        only) no token is needed.
  parameters:
    IncidentID:
      name: id
      in: path
      required: true
      schema: {type: integer, minimum: 1, maximum: 9223372036854775807}
    SilenceID:
      name: id
      in: path
      required: true
      schema: {type: integer, minimum: 1, maximum: 9223372036854775807}
  responses:
    BadRequest:
      description: malformed or invalid input; the message names the field
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    Unauthorized:
      description: no or unknown bearer token
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    Forbidden:
      description: the token lacks the scope
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    NotFound:
      description: no such incident, silence or configured heartbeat
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    Conflict:
      description: the transition is refused (for example acknowledging a resolved incident)
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    TooLarge:
      description: the body is over the configured limit
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    TooManyRequests:
      description: the token is over its rate limit
      headers:
        Retry-After: {schema: {type: integer}, description: seconds to wait}
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    Unavailable:
      description: the store could not commit; retry
      headers:
        Retry-After: {schema: {type: integer}, description: seconds to wait}
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
  schemas:
    Error:
      type: object
      required: [error, field]
      properties:
        error: {type: string}
        field: {type: [string, "null"], description: "the offending field, e.g. `[3].labels.pop`"}
    Labels:
      type: object
      additionalProperties: {type: string}
    AlertLabels:
      type: object
      minProperties: 1
      maxProperties: 64
      propertyNames: {pattern: "^[a-zA-Z_][a-zA-Z0-9_]{0,127}$"}
      additionalProperties: {type: string, maxLength: 1024}
    Severity:
      type: string
      enum: [critical, error, warning, info]
    NativeAlert:
      type: object
      required: [labels]
      properties:
        source: {type: [string, "null"]}
        status: {type: [string, "null"], enum: [firing, resolved, null], default: firing}
        severity:
          oneOf:
            - {$ref: "#/components/schemas/Severity"}
            - {type: "null"}
        summary: {type: [string, "null"], maxLength: 1024}
        labels: {$ref: "#/components/schemas/AlertLabels"}
        annotations:
          oneOf:
            - {$ref: "#/components/schemas/Labels"}
            - {type: "null"}
        dedup_key: {type: [string, "null"], minLength: 1}
        starts_at: {type: [string, "null"], format: date-time}
        ends_at: {type: [string, "null"], format: date-time}
        value: {type: [number, "null"]}
        threshold: {type: [number, "null"]}
    IngestResult:
      type: object
      required: [incident_id, dedup_key, outcome]
      properties:
        incident_id: {type: [integer, "null"]}
        dedup_key: {type: string}
        outcome: {type: string, enum: [created, merged, resolved, reopened, suppressed]}
    AlertmanagerAlert:
      type: object
      required: [status, labels]
      properties:
        status: {type: string, enum: [firing, resolved]}
        labels: {$ref: "#/components/schemas/AlertLabels"}
        annotations: {$ref: "#/components/schemas/Labels"}
        startsAt: {type: string, format: date-time}
        endsAt: {type: string, format: date-time}
        generatorURL: {type: string}
        fingerprint: {type: string}
    AlertmanagerWebhook:
      type: object
      required: [version, alerts]
      properties:
        version: {type: string, const: "4"}
        receiver: {type: string}
        status: {type: string}
        alerts: {type: array, items: {$ref: "#/components/schemas/AlertmanagerAlert"}}
        groupLabels: {$ref: "#/components/schemas/Labels"}
        commonLabels: {$ref: "#/components/schemas/Labels"}
        commonAnnotations: {$ref: "#/components/schemas/Labels"}
        externalURL: {type: string}
        groupKey: {type: string}
        truncatedAlerts: {type: integer}
    PagerDutyEvent:
      type: object
      description: A trigger carries a payload; acknowledge and resolve name the dedup_key of the trigger whose alert they act on.
      required: [routing_key, event_action]
      oneOf:
        - properties: {event_action: {const: trigger}}
          required: [payload]
        - properties: {event_action: {enum: [acknowledge, resolve]}}
          required: [dedup_key]
      properties:
        routing_key: {type: string, minLength: 1, description: an ingest token (any value in protected mode)}
        event_action: {type: string, enum: [trigger, acknowledge, resolve]}
        dedup_key: {type: string, minLength: 1, maxLength: 255, description: "at most 255 characters; on trigger, generated and returned when absent"}
        payload:
          type: object
          required: [summary, source, severity]
          properties:
            summary: {type: string, minLength: 1, pattern: "\\S", description: "cut to max_summary_bytes (1024), not refused"}
            source: {type: string, minLength: 1, pattern: "\\S"}
            severity: {$ref: "#/components/schemas/Severity"}
            timestamp: {type: string, format: date-time, description: "ISO 8601; one without an offset is read as UTC"}
            component: {type: string}
            group: {type: string}
            class: {type: string}
            custom_details: {}
        client: {type: string}
        client_url: {type: string}
    PagerDutyResult:
      type: object
      required: [status, message, dedup_key]
      properties:
        status: {type: string, const: success}
        message: {type: string}
        dedup_key: {type: string}
    PagerDutyError:
      type: object
      description: PagerDuty's error shape, for every refusal of /v2/enqueue
      required: [status, message, errors]
      properties:
        status: {type: string, description: "a short name: invalid event, throttle exceeded, unavailable"}
        message: {type: string}
        errors: {type: array, items: {type: string}}
    TimelineEntry:
      type: object
      required: [at, kind, by, detail]
      properties:
        at: {type: string, format: date-time}
        kind:
          type: string
          enum: [created, alert, paged, escalated, acknowledged, resolved, reopened, note, delivery_failed, sla_breached]
        by: {type: [string, "null"]}
        detail: {type: [string, "null"]}
    StoredAlert:
      type: object
      properties:
        fingerprint: {type: string}
        status: {type: string, enum: [firing, resolved]}
        severity: {$ref: "#/components/schemas/Severity"}
        summary: {type: string}
        labels: {$ref: "#/components/schemas/Labels"}
        annotations: {$ref: "#/components/schemas/Labels"}
        source: {type: string}
        value: {type: [number, "null"]}
        threshold: {type: [number, "null"]}
        starts_at: {type: [string, "null"], format: date-time}
        ends_at: {type: [string, "null"], format: date-time}
        first_seen_at: {type: string, format: date-time}
        last_seen_at: {type: string, format: date-time}
        received_count:
          type: integer
          description: copies of this alert received, firing and resolved (the incident's alert_count counts firing ones only)
    Incident:
      type: object
      required: [id, status, dedup_key, title, severity, labels, policy, tier, alert_count, created_at, first_paged_at, last_alert_at,
                 acknowledged_at, acknowledged_by, resolved_at, next_escalation_at]
      properties:
        id: {type: integer}
        status: {type: string, enum: [triggered, acknowledged, resolved]}
        dedup_key: {type: string}
        title: {type: string}
        severity: {$ref: "#/components/schemas/Severity"}
        labels: {$ref: "#/components/schemas/Labels"}
        annotations: {$ref: "#/components/schemas/Labels"}
        rule: {type: string}
        policy: {type: string}
        policy_note:
          type: [string, "null"]
          description: >
            (an incident's detail only) when the policy an open incident goes by is not the one loaded now by
            that name, what it goes by: one that paged keeps its copy from when it started paging, edited or
            deleted since; one nobody was paged for yet pages by the policy its rule names as loaded now; null
            otherwise
        tier: {type: integer}
        alert_count:
          type: integer
          description: firing alerts received, first copies and repeats (recoveries are not counted; each alert's received_count is)
        distinct_alerts:
          type: integer
          description: the distinct alerts it holds (by fingerprint), firing or recovered, however many copies came
        firing_alerts: {type: integer}
        created_at: {type: string, format: date-time}
        first_paged_at:
          type: [string, "null"]
          format: date-time
          description: the first page (null while nobody was paged, for example while a silence or an inhibition holds it); the SLA clocks start here
        last_alert_at: {type: string, format: date-time}
        acknowledged_at: {type: [string, "null"], format: date-time}
        acknowledged_by: {type: [string, "null"]}
        first_acknowledged_at:
          type: [string, "null"]
          format: date-time
          description: the first acknowledgement, kept through an ack timeout or a reopen; the acknowledge SLA measures it
        resolved_at: {type: [string, "null"], format: date-time}
        resolved_by: {type: [string, "null"]}
        resolution:
          type: [string, "null"]
          enum: [alerts, operator, auto_resolve, null]
          description: >
            what closed it: its alerts recovered, an operator, or auto_resolve_after (its alerts went
            quiet, nothing recovered); null while open and for incidents resolved before alertbridge recorded it
        next_escalation_at:
          type: [string, "null"]
          format: date-time
          description: >
            when alertbridge next looks at the incident: the earliest of the next tier's page, an SLA
            deadline, the ack timeout, auto_resolve_after and the end of a hold; null once resolved
        inhibit_wait_until:
          type: [string, "null"]
          format: date-time
          description: >
            while a new incident waits before its first page for an incident that inhibits it to open (its
            inhibit rule's wait), when the wait ends; null otherwise
        kept_open_until:
          type: [string, "null"]
          format: date-time
          description: >
            while an open incident whose alerts have all recovered is kept open by its rule's keep_open_for,
            when it resolves unless one fires again; null otherwise
        next_step:
          description: >
            (an incident's detail only) what its policy does next if nobody acts, as its pages' Next: line
            says: page the next tier, repeat from tier 1, end the escalation, or page tier 1 again when an
            acknowledgement's ack_timeout runs out; waits_for_inhibitor while an open incident that inhibits
            this one holds its next step (at: when alertbridge looks again), and held_by lists the open incidents
            that inhibit it now, whose next step waits when it falls due; inhibit_wait while a new incident
            waits, before paging tier 1 at at, for an incident that inhibits it to open (its inhibit rule's
            wait); inhibitors_resolved when the incidents that held it since it opened have resolved, and tier 1
            is paged at at if it still fires; kept_open when every alert recovered and its rule's
            keep_open_for keeps it open until at, when it resolves unless one fires again; waits_for_alert when it fell quiet
            (auto_resolve_after) while alertbridge was stopped (at: when it resolves unless its alert is sent
            again); null when no timer runs (held before its first page, ended, resolved)
          oneOf:
            - type: "null"
            - type: object
              required: [action, tier, tier_name, at, window, timer, held_by, text]
              properties:
                action: {type: string, enum: [page, repeat, end, ack_timeout, waits_for_inhibitor, inhibit_wait, inhibitors_resolved, kept_open, waits_for_alert]}
                tier: {type: [integer, "null"]}
                tier_name: {type: [string, "null"]}
                at: {type: string, format: date-time}
                window: {type: [string, "null"], description: the policy window whose timer set the time}
                timer: {type: string, description: the escalate_after or ack_timeout in force, as 10m}
                held_by:
                  type: array
                  items: {type: integer}
                  description: open incidents that inhibit this one now; while one is open when the step falls due, it waits
                text: {type: string}
        paged:
          type: boolean
          description: >
            whether anyone was paged in the current episode (since the incident opened or last reopened);
            false while a silence or an inhibition holds it, or when its rule names no loaded policy
        failed_pages:
          type: integer
          description: >
            pages to the incident's current tier that failed for good in the current episode (every
            recipient refused, a webhook's 4xx, given up at delivery.max_age): the tier shown was paged but
            those people were not reached; an earlier tier's failures are left out once the next tier is
            paged; the timeline's delivery_failed entries say which and why
        retrying_pages:
          type: integer
          description: >
            pages of any tier in the current episode that failed so far and wait for their next attempt
            (an outage of the mail server or the chat receiver): nobody they were for has them yet
        escalation_ended: {type: boolean}
        inhibited_by:
          type: array
          items: {type: integer}
          description: >
            the open incidents that inhibit this one and hold it (its first page, or once paging, its next
            step); empty when nothing does
        sla_breaches: {type: array, items: {type: string, enum: [acknowledge, resolve]}}
        alerts: {type: array, items: {$ref: "#/components/schemas/StoredAlert"}}
        timeline: {type: array, items: {$ref: "#/components/schemas/TimelineEntry"}}
    Action:
      type: object
      required: [by]
      properties:
        by: {type: string, minLength: 1, maxLength: 128, pattern: "\\S", description: who acts}
        note: {type: [string, "null"], maxLength: 8192}
        take_over:
          type: [boolean, "null"]
          description: >
            /ack only: acknowledge also when someone already has (take it over, or restart one's own
            ack_timeout); without it that is a 409
    Note:
      type: object
      required: [by, note]
      properties:
        by: {type: string, minLength: 1, maxLength: 128, pattern: "\\S", description: who writes it}
        note: {type: string, minLength: 1, maxLength: 8192}
    Silence:
      type: object
      required: [id, status, matchers, starts_at, ends_at, created_by, comment, created_at, expired_by]
      properties:
        id: {type: integer}
        status: {type: string, enum: [pending, active, expired], description: as of the answer}
        matchers: {type: array, items: {type: string}, description: 'quoted matchers such as `pop="ICN1"`'}
        starts_at: {type: string, format: date-time}
        ends_at: {type: string, format: date-time}
        created_by: {type: string}
        comment: {type: string}
        created_at: {type: string, format: date-time}
        expired_by: {type: [string, "null"], description: who ended it early}
        extended_by: {type: [string, "null"], description: who last moved its end later}
    NewSilence:
      type: object
      required: [matchers, by, comment]
      anyOf: [{required: [ends_at]}, {required: [duration]}]
      not: {required: [ends_at, duration]}
      description: >
        Alerts all matchers hold for are recorded but page nobody between starts_at and
        the end. Give the end as ends_at or as a duration from the start, not both. At least
        one matcher must need a label value (a silence cannot hold every alert).
      properties:
        matchers:
          type: array
          minItems: 1
          maxItems: 32
          items:
            type: string
            maxLength: 1024
            pattern: '^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*(=|!=|=~|!~)'
            description: 'an Alertmanager matcher: `pop = ICN1`, `alertname =~ "Edge.*"`'
        starts_at: {type: string, format: date-time, description: default now; a time in the past means now}
        ends_at: {type: string, format: date-time}
        duration: {type: string, pattern: '^([0-9]{1,9}(ms|s|m|h|d))+$', description: 'such as `2h` or `1h30m`, above zero, at most 365d'}
        by: {type: string, minLength: 1, maxLength: 128, pattern: "\\S", description: who silences}
        comment: {type: string, minLength: 1, maxLength: 1024, pattern: "\\S", description: why}
    SilenceExtension:
      type: object
      required: [by]
      anyOf: [{required: [ends_at]}, {required: [duration]}]
      not: {required: [ends_at, duration]}
      description: >
        The new end, as ends_at or as a duration from the start (now, for a silence that
        already started), not both; it must be later than the silence's end. The comment
        replaces the silence's own when given.
      properties:
        ends_at: {type: string, format: date-time}
        duration: {type: string, pattern: '^([0-9]{1,9}(ms|s|m|h|d))+$', description: 'such as `1h` or `1h30m`, above zero, at most 365d'}
        by: {type: string, minLength: 1, maxLength: 128, pattern: "\\S", description: who extends it}
        comment: {type: string, minLength: 1, maxLength: 1024, pattern: "\\S", description: why; default the silence's own}
paths:
  /api/v1/alerts:
    post:
      summary: Ingest a native alert or an array of them
      description: Answered 202 only after the alerts are committed. A bad alert anywhere in the request writes nothing.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - {$ref: "#/components/schemas/NativeAlert"}
                - {type: array, minItems: 1, items: {$ref: "#/components/schemas/NativeAlert"}}
      responses:
        "202":
          description: one result per alert (an object for an object, an array for an array)
          content:
            application/json:
              schema:
                oneOf:
                  - {$ref: "#/components/schemas/IngestResult"}
                  - {type: array, items: {$ref: "#/components/schemas/IngestResult"}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "413": {$ref: "#/components/responses/TooLarge"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/alertmanager:
    post:
      summary: Ingest a Prometheus Alertmanager webhook (payload version 4)
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/AlertmanagerWebhook"}}}
      responses:
        "202":
          description: one result per alert
          content: {application/json: {schema: {type: array, items: {$ref: "#/components/schemas/IngestResult"}}}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "413": {$ref: "#/components/responses/TooLarge"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /v2/enqueue:
    post:
      summary: PagerDuty Events API v2 compatible event
      security: []
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: "#/components/schemas/PagerDutyEvent"}}}
      responses:
        "202":
          description: '{"status":"success","message":"Event processed","dedup_key":...}'
          content: {application/json: {schema: {$ref: "#/components/schemas/PagerDutyResult"}}}
        "400":
          description: '{"status":"invalid event","message":"Event object is invalid","errors":[...]}'
          content: {application/json: {schema: {$ref: "#/components/schemas/PagerDutyError"}}}
        "413":
          description: 'the body is over the configured limit: {"status":"invalid event","message":"Event object is invalid","errors":[...]}'
          content: {application/json: {schema: {$ref: "#/components/schemas/PagerDutyError"}}}
        "429":
          description: 'the routing key is over its rate limit: {"status":"throttle exceeded","message":...,"errors":[...]}'
          headers:
            Retry-After: {schema: {type: integer}, description: seconds to wait}
          content: {application/json: {schema: {$ref: "#/components/schemas/PagerDutyError"}}}
        "503":
          description: 'the store could not commit; retry: {"status":"unavailable","message":...,"errors":[...]}'
          headers:
            Retry-After: {schema: {type: integer}, description: seconds to wait}
          content: {application/json: {schema: {$ref: "#/components/schemas/PagerDutyError"}}}
  /api/v1/heartbeats:
    get:
      summary: The configured heartbeats and whether their monitors are alive, by name
      responses:
        "200":
          description: every heartbeat of `heartbeats:` in alertbridge.yaml
          content:
            application/json:
              schema:
                type: object
                required: [heartbeats]
                properties:
                  heartbeats:
                    type: array
                    items:
                      type: object
                      required: [name, status, timeout, severity, labels, last_ping_at, expires_at]
                      properties:
                        name: {type: string}
                        status:
                          type: string
                          enum: [waiting, up, missed]
                          description: waiting for its first ping (not watched yet), pinged within its timeout, or not
                        timeout: {type: string, example: 5m}
                        severity: {type: string, enum: [critical, error, warning, info]}
                        labels: {type: object, additionalProperties: {type: string}}
                        last_ping_at: {type: [string, "null"], format: date-time}
                        expires_at: {type: [string, "null"], format: date-time, description: missed unless it pings before}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/heartbeats/{name}:
    post:
      summary: A monitor says it is alive
      description: >
        The heartbeat must be configured (`heartbeats:` in alertbridge.yaml). From its first
        ping on, no ping for its `timeout` ingests a `HeartbeatMissed` alert that rules route
        like any other; the next ping recovers it. Any body is ignored.
      parameters:
        - {name: name, in: path, required: true, example: prometheus-apac,
           schema: {type: string, pattern: "^[A-Za-z0-9._-]{1,128}$"}}
      responses:
        "202":
          description: the ping is recorded
          content:
            application/json:
              schema:
                type: object
                required: [heartbeat, expires_at]
                properties:
                  heartbeat: {type: string}
                  expires_at: {type: string, format: date-time, description: missed unless it pings again before}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/incidents:
    get:
      summary: List incidents, newest first
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [open, triggered, acknowledged, resolved, all], default: open}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
        - {name: since, in: query, description: only incidents created at or after this time, schema: {type: string, format: date-time}}
        - {name: until, in: query, description: only incidents created before this time, schema: {type: string, format: date-time}}
        - name: before_id
          in: query
          description: >
            only incidents with a lower id: to page through a listing, pass the last id of the page before
            (incidents created in one commit share their created_at, so until cannot page)
          schema: {type: integer, minimum: 1, maximum: 9223372036854775807}
        - name: severity
          in: query
          description: only incidents of these severities (repeated, or comma-separated in one)
          style: form
          explode: true
          schema: {type: array, items: {type: string, enum: [critical, error, warning, info]}}
        - name: label
          in: query
          description: >
            only incidents whose labels have these values, each as name=value (pop=ICN1; repeated: all of
            them); the same name with two values is a 400
          style: form
          explode: true
          schema: {type: array, items: {type: string, pattern: "^[A-Za-z_][A-Za-z0-9_]*=.*$"}}
      responses:
        "200":
          description: incidents without timeline
          content:
            application/json:
              schema:
                type: object
                required: [incidents, retention_cutoff]
                properties:
                  incidents: {type: array, items: {$ref: "#/components/schemas/Incident"}}
                  retention_cutoff:
                    type: [string, "null"]
                    format: date-time
                    description: >
                      with retention set in alertbridge.yaml, incidents resolved before this time are deleted, so a
                      window reaching back further lists only those resolved since; null without retention
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/incidents/{id}:
    get:
      summary: One incident with its alerts and timeline
      parameters: [{$ref: "#/components/parameters/IncidentID"}]
      responses:
        "200":
          description: the incident
          content: {application/json: {schema: {$ref: "#/components/schemas/Incident"}}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/incidents/{id}/ack:
    post:
      summary: Acknowledge; stops escalation and notifies the tiers paged so far
      parameters: [{$ref: "#/components/parameters/IncidentID"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Action"}}}}
      responses: &action
        "200":
          description: the incident after the action
          content: {application/json: {schema: {$ref: "#/components/schemas/Incident"}}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
        "413": {$ref: "#/components/responses/TooLarge"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/incidents/{id}/resolve:
    post:
      summary: Resolve; notifies the tiers paged so far
      parameters: [{$ref: "#/components/parameters/IncidentID"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Action"}}}}
      responses: *action
  /api/v1/incidents/{id}/notes:
    post:
      summary: Add a note to the timeline
      parameters: [{$ref: "#/components/parameters/IncidentID"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Note"}}}}
      responses: *action
  /api/v1/incidents/{id}/escalate:
    post:
      summary: Page the next tier now
      parameters: [{$ref: "#/components/parameters/IncidentID"}]
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/Action"}}}}
      responses: *action
  /api/v1/silences:
    get:
      summary: List silences, newest first
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [current, active, pending, expired, all], default: current},
           description: current is active or pending}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 100}}
      responses:
        "200":
          description: the silences
          content:
            application/json:
              schema:
                type: object
                required: [silences]
                properties:
                  silences: {type: array, items: {$ref: "#/components/schemas/Silence"}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
    post:
      summary: Create a silence (a maintenance window)
      operationId: createSilence
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/NewSilence"}}}}
      responses:
        "201":
          description: the silence as stored
          content: {application/json: {schema: {$ref: "#/components/schemas/Silence"}}}
          links:
            ExpireSilence: {operationId: expireSilence, parameters: {id: "$response.body#/id"}}
            ExtendSilence: {operationId: extendSilence, parameters: {id: "$response.body#/id"}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "413": {$ref: "#/components/responses/TooLarge"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/silences/{id}:
    delete:
      summary: Expire a silence now; the incidents it held page at once if nothing else holds them
      operationId: expireSilence
      parameters:
        - {$ref: "#/components/parameters/SilenceID"}
        - {name: by, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 128, pattern: "\\S"},
           description: who expires it}
      responses:
        "200":
          description: the silence, now expired
          content: {application/json: {schema: {$ref: "#/components/schemas/Silence"}}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /api/v1/silences/{id}/extend:
    post:
      summary: Extend a silence (maintenance runs over)
      description: >
        Moves the silence's end later; it goes on holding what it holds, so nothing pages
        at the old end. `extended_by` records who did.
      operationId: extendSilence
      parameters:
        - {$ref: "#/components/parameters/SilenceID"}
      requestBody: {required: true, content: {application/json: {schema: {$ref: "#/components/schemas/SilenceExtension"}}}}
      responses:
        "200":
          description: the silence, with its new end
          content: {application/json: {schema: {$ref: "#/components/schemas/Silence"}}}
        "400": {$ref: "#/components/responses/BadRequest"}
        "401": {$ref: "#/components/responses/Unauthorized"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
        "413": {$ref: "#/components/responses/TooLarge"}
        "429": {$ref: "#/components/responses/TooManyRequests"}
        "503": {$ref: "#/components/responses/Unavailable"}
  /healthz:
    get:
      summary: Liveness
      security: []
      responses:
        "200": {description: alive, content: {application/json: {schema: {type: object}}}}
  /readyz:
    get:
      summary: Readiness (the store answers)
      security: []
      responses:
        "200": {description: ready, content: {application/json: {schema: {type: object}}}}
        "503": {$ref: "#/components/responses/Unavailable"}
  /metrics:
    get:
      summary: Prometheus metrics
      security: []
      responses:
        "200": {description: text exposition format, content: {text/plain: {schema: {type: string}}}}
  /openapi.yaml:
    get:
      summary: This document
      security: []
      responses:
        "200": {description: OpenAPI 3.1 YAML, content: {application/yaml: {schema: {type: string}}}}
"""#
}
