-- Indexes for the HQ lists at size. `orderintake bench history` (1,000,000
-- orders, 3,000,000 postbacks) showed with EXPLAIN what 001 and 003 leave to
-- scans: a customer's orders or postbacks of one status (a BitmapAnd of two
-- large index ranges, p99 50-800 ms), the reference prefix search and the
-- free-text search (sequential scans of order_requests, 0.5-3 s).
--
-- Built concurrently so that a live database keeps taking orders meanwhile
-- (tern runs the statements one by one, outside a transaction). If one of
-- them fails half-way it leaves an invalid index behind: drop it and migrate
-- again.
---- tern: disable-tx ----

create index concurrently if not exists order_requests_customer_status
    on order_requests (customer_id, status, received_at desc, id desc);
create index concurrently if not exists postbacks_customer_status
    on postbacks (customer_id, status, created_at desc, id desc);

-- LIKE 'prefix%' can use a plain btree only under the C collation (dev and
-- most servers use a UTF-8 locale); text_pattern_ops serves it, and
-- equality, under any collation, so it replaces 001's plain index.
create index concurrently if not exists order_requests_reference_prefix
    on order_requests (order_reference_id text_pattern_ops);
drop index concurrently if exists order_requests_reference;

-- The free-text search (reference part, any case, or an exact order id or
-- idempotency key): a trigram index for the ILIKE '%…%' part and a btree
-- for the key, so the three alternatives combine in a BitmapOr. pg_trgm
-- ships with PostgreSQL (contrib) and is a trusted extension: the database
-- owner may create it.
create extension if not exists pg_trgm;
create index concurrently if not exists order_requests_reference_trgm
    on order_requests using gin (order_reference_id gin_trgm_ops);
create index concurrently if not exists order_requests_idempotency_key
    on order_requests (idempotency_key);
