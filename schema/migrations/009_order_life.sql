-- Issue 12: the order's life after intake (cancel, resubmit, delayed,
-- printer order id, response templates, customer search).

-- A printer names where cancels go (a template string over the order, e.g.
-- https://psp.example/orders/<printerOrderId>/cancel) and how to find its
-- own order id in its answer (an expression such as id or data.order.id).
alter table printers add column if not exists cancel_url text not null default '';
alter table printers add column if not exists order_id_expression text not null default '';

-- Response templates render our answers in the merchant's own format;
-- delayed_after_seconds (0: off) fires the delayed event when the printer
-- sits on an order.
alter table customers add column if not exists submit_response_template_id text references templates (id);
alter table customers add column if not exists cancel_response_template_id text references templates (id);
alter table customers add column if not exists delayed_after_seconds bigint not null default 0
    check (delayed_after_seconds >= 0);

alter table templates drop constraint if exists templates_kind_check;
alter table templates add constraint templates_kind_check
    check (kind in ('intake', 'cancel', 'submit_response', 'cancel_response', 'webhook', 'email'));

-- delayed is the ninth event (ours, not the printer's).
alter table triggers drop constraint if exists triggers_event_check;
alter table triggers add constraint triggers_event_check
    check (event in ('received', 'in_production', 'shipped', 'in_transit', 'delivered', 'failed', 'canceled', 'returned', 'delayed'));

-- A cancel asked by the customer records its canceled event with source customer.
alter table order_events drop constraint if exists order_events_source_check;
alter table order_events add constraint order_events_source_check check (source in ('printer', 'system', 'customer'));

-- The printer's own id of the order, from its answer; response_warnings says
-- why it is missing when the printer answered 2xx without one.
alter table order_requests add column if not exists printer_order_id text not null default '';
alter table order_requests add column if not exists response_warnings jsonb;
-- The current submit try (1 for the first); earlier tries move to order_tries.
alter table order_requests add column if not exists try integer not null default 1;
create index if not exists order_requests_customer_reference on order_requests (customer_id, order_reference_id);

-- Every earlier submit try of a resubmitted order, with its stages as they were.
create table if not exists order_tries (
    order_id             text not null references order_requests (id),
    try                  integer not null,
    status               text not null,
    status_reason        text not null default '',
    template_id          text,
    template_version     integer,
    processed_body       bytea,
    template_error       jsonb,
    template_warnings    jsonb,
    processed_at         timestamptz,
    final_method         text,
    final_url            text,
    final_headers        jsonb,
    final_body           bytea,
    printer_attempts     integer not null default 0,
    sent_at              timestamptz,
    response_status      integer,
    response_headers     jsonb,
    response_body        bytea,
    response_latency_ms  integer,
    response_error       text,
    response_warnings    jsonb,
    archived_at          timestamptz not null default now(),
    primary key (order_id, try)
);

-- A cancel request and its four stages: what the customer sent, the cancel
-- template's output, what went to the printer's cancel URL, what came back.
create table if not exists order_cancels (
    id                   text primary key,
    order_id             text not null references order_requests (id),
    source               text not null check (source in ('customer', 'admin')),
    -- pending (under way), canceled (printer 2xx, or stopped before the
    -- printer took the order), refused (printer 4xx), failed (our settings)
    outcome              text not null check (outcome in ('pending', 'canceled', 'refused', 'failed')),
    outcome_reason       text not null default '',
    printer_called       boolean not null default false,
    requested_at         timestamptz not null,
    updated_at           timestamptz not null default now(),
    request_content_type text not null default '',
    request_headers      jsonb not null default '{}',
    request_body         bytea,
    template_id          text,
    template_version     integer,
    processed_body       bytea,
    template_error       jsonb,
    processed_at         timestamptz,
    final_method         text,
    final_url            text,
    final_headers        jsonb,
    final_body           bytea,
    printer_attempts     integer not null default 0,
    sent_at              timestamptz,
    response_status      integer,
    response_headers     jsonb,
    response_body        bytea,
    response_latency_ms  integer,
    response_error       text
);
create index if not exists order_cancels_order on order_cancels (order_id, requested_at);
