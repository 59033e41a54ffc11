-- HQ sessions live here, not in the cookie, so that logout, expiry and
-- "sign out everywhere" hold on every API replica at once. The cookie
-- carries a random id; only its SHA-256 is stored (a database reader cannot
-- take over a session). token_tag ties a session to the admin token it was
-- opened with: rotating ORDERINTAKE_ADMIN_TOKEN ends every session.
create table hq_sessions (
    id_hash    bytea primary key,
    token_tag  bytea not null,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null
);
create index hq_sessions_expires_at on hq_sessions (expires_at);

-- Failed authentications per client address and scope ('admin': wrong admin
-- token on /v1/admin or /hq/login; 'key': unknown X-API-KEY), counted in a
-- window that opens at the first failure. Shared by every replica, so a
-- round-robin proxy does not multiply the allowance.
create table auth_failures (
    scope        text not null,
    ip           text not null,
    window_start timestamptz not null,
    failures     integer not null,
    primary key (scope, ip)
);
create index auth_failures_window_start on auth_failures (window_start);
