-- Configuration: printers, templates, customers, keys, lookups, triggers.

create table printers (
    id          text primary key,
    name        text not null,
    url         text not null,
    format      text not null default 'json' check (format in ('json', 'xml')),
    headers     jsonb not null default '{}',
    timeout_ms  integer not null default 15000 check (timeout_ms between 100 and 120000),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create table templates (
    id              text primary key,
    name            text not null,
    kind            text not null check (kind in ('intake', 'cancel', 'webhook', 'email')),
    format          text not null check (format in ('json', 'xml', 'text')),
    current_version integer not null default 1,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

-- Every saved change is a new version; orders and postbacks record which one rendered them.
create table template_versions (
    template_id text not null references templates (id) on delete cascade,
    version     integer not null,
    format      text not null check (format in ('json', 'xml', 'text')),
    body        text not null,
    subject     text not null default '',
    created_at  timestamptz not null default now(),
    primary key (template_id, version)
);

create table customers (
    id                   text primary key,
    name                 text not null,
    reference_id         text not null unique,
    printer_id           text references printers (id),
    intake_template_id   text references templates (id),
    cancel_template_id   text references templates (id),
    reference_expression text not null default '',
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);

-- Keys are stored as SHA-256 hashes; the plain key is shown once.
create table api_keys (
    id          text primary key,
    owner_kind  text not null check (owner_kind in ('customer', 'printer')),
    owner_id    text not null,
    prefix      text not null,
    hash        bytea not null unique,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);
create index api_keys_owner on api_keys (owner_kind, owner_id);

create table lookups (
    id            text primary key,
    customer_id   text not null references customers (id),
    name          text not null,
    default_value text not null default '',
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    unique (customer_id, name)
);

create table lookup_rows (
    lookup_id text not null references lookups (id) on delete cascade,
    key       text not null,
    value     text not null,
    primary key (lookup_id, key)
);

create table triggers (
    id                   text primary key,
    customer_id          text not null references customers (id),
    name                 text not null,
    event                text not null check (event in ('received', 'in_production', 'shipped', 'in_transit', 'delivered', 'failed', 'canceled', 'returned')),
    method               text not null check (method in ('url', 'email')),
    template_id          text not null references templates (id),
    format               text not null default 'json' check (format in ('json', 'xml', 'text')),
    url                  text not null default '',
    emails               text[] not null default '{}',
    retry_on_failure     boolean not null default true,
    status               text not null default 'active' check (status in ('test', 'active', 'disabled')),
    -- Secrets are sealed with ORDERINTAKE_SECRET_KEY (AES-GCM); the previous one keeps signing for 24 h after a rotation.
    secret_sealed        bytea,
    prev_secret_sealed   bytea,
    prev_secret_until    timestamptz,
    disabled_reason      text not null default '',
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now()
);
create index triggers_fire on triggers (customer_id, event) where status = 'active';

-- Work settings: one row.
create table smtp_settings (
    id              boolean primary key default true check (id),
    from_address    text not null default '',
    from_name       text not null default '',
    host            text not null default '',
    port            integer not null default 587,
    username        text not null default '',
    password_sealed bytea,
    tls             boolean not null default true,
    updated_at      timestamptz not null default now()
);

-- The order journey: one row per order, the four stages of the Requests view.

create table order_requests (
    id                   text primary key,
    customer_id          text not null,
    printer_id           text,
    workflow_id          text not null,
    idempotency_key      text not null,
    order_reference_id   text not null default '',
    status               text not null,
    status_reason        text not null default '',
    received_at          timestamptz not null,
    updated_at           timestamptz not null default now(),
    -- 1. original request
    request_content_type text not null default '',
    request_headers      jsonb not null default '{}',
    request_body         bytea not null,
    -- 2. template processing
    template_id          text,
    template_version     integer,
    processed_body       bytea,
    template_error       jsonb,
    processed_at         timestamptz,
    -- 3. final request
    final_method         text,
    final_url            text,
    final_headers        jsonb,
    final_body           bytea,
    -- 4. system response
    printer_attempts     integer not null default 0,
    sent_at              timestamptz,
    response_status      integer,
    response_headers     jsonb,
    response_body        bytea,
    response_latency_ms  integer,
    response_error       text
);
create index order_requests_received on order_requests (received_at desc, id desc);
create index order_requests_customer on order_requests (customer_id, received_at desc, id desc);
create index order_requests_status on order_requests (status, received_at desc, id desc);
create index order_requests_reference on order_requests (order_reference_id);

create table order_events (
    id            bigserial primary key,
    order_id      text not null references order_requests (id),
    event_id      text not null,
    status        text not null,
    source        text not null default 'printer' check (source in ('printer', 'system')),
    occurred_at   timestamptz not null,
    recorded_at   timestamptz not null default now(),
    message       text not null default '',
    tracking_code text not null default '',
    tracking_url  text not null default '',
    carrier_name  text not null default '',
    accepted      boolean not null,
    reject_reason text not null default '',
    unique (order_id, event_id)
);

create table postbacks (
    id               text primary key,
    order_id         text not null references order_requests (id),
    order_event_id   bigint references order_events (id),
    event            text not null,
    event_id         text not null,
    trigger_id       text not null references triggers (id),
    customer_id      text not null,
    method           text not null,
    destination      text not null,
    format           text not null,
    template_version integer,
    subject          text not null default '',
    body             bytea,
    render_error     jsonb,
    retry_on_failure boolean not null,
    is_test          boolean not null default false,
    status           text not null,
    status_reason    text not null default '',
    attempts         integer not null default 0,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    next_attempt_at  timestamptz,
    unique (order_id, event_id, trigger_id)
);
create index postbacks_created on postbacks (created_at desc, id desc);
create index postbacks_customer on postbacks (customer_id, created_at desc, id desc);
create index postbacks_status on postbacks (status, created_at desc, id desc);
create index postbacks_trigger on postbacks (trigger_id, created_at desc, id desc);
create index postbacks_order on postbacks (order_id);

create table postback_attempts (
    id               bigserial primary key,
    postback_id      text not null references postbacks (id),
    attempt          integer not null,
    trigger          text not null check (trigger in ('scheduled', 'manual')),
    started_at       timestamptz not null,
    duration_ms      integer not null,
    resolved_ip      text not null default '',
    request_headers  jsonb not null default '{}',
    request_body     bytea,
    response_status  integer,
    response_headers jsonb,
    response_body    bytea,
    outcome          text not null,
    error_kind       text not null default '',
    error            text not null default '',
    next_attempt_at  timestamptz,
    unique (postback_id, attempt)
);
