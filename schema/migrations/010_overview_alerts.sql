-- Issue 15: the HQ overview and operational alerts.
--
-- Overview (store/overview.go): per-hour counts, rates and latency
-- percentiles over a window of orders or postbacks, all customers or one.
-- Covering indexes let each read only its window from an index (index-only
-- scans: no heap fetch per order), measured on `bench history`'s million
-- orders (internal/bench/overview.go). Postbacks' indexes skip test ones,
-- which the overview never counts. Built concurrently, as 005 explains.
---- tern: disable-tx ----

create index concurrently if not exists order_requests_overview
    on order_requests (received_at) include (status, customer_id, sent_at, response_latency_ms);
create index concurrently if not exists order_requests_customer_overview
    on order_requests (customer_id, received_at) include (status, sent_at, response_latency_ms);
create index concurrently if not exists postbacks_overview
    on postbacks (created_at) include (status, attempts, customer_id, updated_at) where not is_test;
create index concurrently if not exists postbacks_customer_overview
    on postbacks (customer_id, created_at) include (status, attempts, updated_at) where not is_test;

-- Alerts (alerts/): who is told, and the thresholds. One row.
create table if not exists alert_settings (
    id                    boolean primary key default true check (id),
    enabled               boolean not null default false,
    emails                text[] not null default '{}',
    webhook_url           text not null default '',
    -- signs the operator webhook like a trigger's (Standard Webhooks), sealed at rest
    webhook_secret_sealed bytea,
    trigger_failures      integer not null default 5 check (trigger_failures between 1 and 1000),
    printer_failures      integer not null default 5 check (printer_failures between 1 and 1000),
    updated_at            timestamptz not null default now()
);

-- Consecutive failures per subject (a trigger or a printer), reset by a success.
create table if not exists alert_streaks (
    subject_kind text not null check (subject_kind in ('trigger', 'printer')),
    subject_id   text not null,
    failures     integer not null,
    last_reason  text not null default '',
    updated_at   timestamptz not null default now(),
    primary key (subject_kind, subject_id)
);

-- An incident is open from the failure that crossed the line until a
-- success. At most one open incident per subject (the partial unique
-- index): replicas that see the same failure agree on one incident and
-- one of them notifies.
create table if not exists alert_incidents (
    id                   text primary key,
    subject_kind         text not null check (subject_kind in ('trigger', 'printer')),
    subject_id           text not null,
    customer_id          text not null default '',
    cause                text not null check (cause in ('disabled', 'exhausted', 'consecutive')),
    reason               text not null,
    link                 text not null default '',
    opened_at            timestamptz not null default now(),
    recovered_at         timestamptz,
    -- when the open and the recovery notices went out, and why the last try failed
    notified_at          timestamptz,
    recovery_notified_at timestamptz,
    notify_error         text not null default ''
);
create unique index if not exists alert_incidents_one_open
    on alert_incidents (subject_kind, subject_id) where recovered_at is null;
create index if not exists alert_incidents_opened on alert_incidents (opened_at desc);
