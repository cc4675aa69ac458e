-- SPDX-License-Identifier: MIT
-- 040_alerts.sql: notifications (collector/alert/alert.h tells the whole
-- path). Every table has a tenant (plain text, no foreign key: the tenants
-- table is another migration's; 'default' is the one tenant of an install
-- without tenants).
--
-- alert_state: what was last notified per finding id (finding_id() in
-- collector/capacity/findings.h): its severity, its last form, when it
-- first fired and when it was last sent (firing or repeat). A restart
-- reads it back, so it neither repeats nor forgets.
CREATE TABLE alert_state (
    tenant      text NOT NULL DEFAULT 'default',
    id          text NOT NULL,
    severity    text NOT NULL,
    finding     text NOT NULL,
    first_at    timestamptz NOT NULL DEFAULT now(),
    notified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id)
);

-- alert_outbox: one row per notification and destination, written in the
-- transaction that changes alert_state. A sender claims a row (claimed_by,
-- claimed_until: a lease, so a collector that dies holding it only delays
-- it) and marks it done on a 2xx (or 250 from SMTP), or after a failure
-- reschedules it (next_at: capped backoff with jitter) until it is a day
-- old. One destination's rows go out oldest first: only a destination's
-- oldest pending row can be claimed. payload is the generic notification
-- of docs/protocol.md section 4 without sent_at (added when sent).
CREATE TABLE alert_outbox (
    nid           bigserial PRIMARY KEY,
    tenant        text NOT NULL DEFAULT 'default',
    destination   text NOT NULL,
    alert_id      text NOT NULL,
    status        text NOT NULL,
    payload       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    next_at       timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0,
    claimed_by    text,
    claimed_until timestamptz,
    done_at       timestamptz,
    delivered     boolean,
    last_error    text
);
CREATE INDEX alert_outbox_pending ON alert_outbox (destination, nid) WHERE done_at IS NULL;
CREATE INDEX alert_outbox_done ON alert_outbox (done_at) WHERE done_at IS NOT NULL;

-- alert_acks: POST /v1/findings/ack mutes an id's notifications until
-- `until`.
CREATE TABLE alert_acks (
    tenant   text NOT NULL DEFAULT 'default',
    id       text NOT NULL,
    until    timestamptz NOT NULL,
    comment  text NOT NULL DEFAULT '',
    acked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, id)
);

-- alert_destinations: a tenant's own webhooks and email recipients
-- (`portfleet-collector alert add`); the serve options' destinations get
-- every tenant's notifications besides.
CREATE TABLE alert_destinations (
    tenant   text NOT NULL DEFAULT 'default',
    target   text NOT NULL, -- "[slack:|teams:]https://..." or "email:ADDR"
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, target)
);

-- alert_runs: when notifications were last evaluated, so several
-- collectors on one database evaluate once per interval between them.
CREATE TABLE alert_runs (
    one          boolean PRIMARY KEY DEFAULT true CHECK (one),
    evaluated_at timestamptz NOT NULL
);
