-- Fewer indexes on the tables every order writes (issue 14's PostgreSQL CPU).
-- Every insert, and every update that changes an indexed column (an order's
-- status, sent_at; a postback's status, attempts, updated_at), adds an entry
-- to each index of its table: an order is written 6 times that way and each
-- of its postbacks twice.
--
-- order_requests carried two indexes per ordering: the HQ list's
-- (received_at desc, id desc) and the overview's covering (received_at)
-- include (…) of 010, and the same pair per customer. One index per pair
-- serves both: keyed (received_at, id) ascending, a backward scan gives the
-- list's order and its cursor condition, and the included columns keep the
-- overview's window counts index-only. postbacks_order (order_id) is the
-- leading column of the unique (order_id, event_id, trigger_id) index, which
-- serves the same lookups. `orderintake bench history` shows each list query
-- on the index that replaces the dropped one.
--
-- Built concurrently, as 005 explains (each new index exists before the one
-- it replaces is dropped).
---- tern: disable-tx ----

create index concurrently if not exists order_requests_received_covering
    on order_requests (received_at, id) include (status, customer_id, sent_at, response_latency_ms);
create index concurrently if not exists order_requests_customer_covering
    on order_requests (customer_id, received_at, id) include (status, sent_at, response_latency_ms);
drop index concurrently if exists order_requests_received;
drop index concurrently if exists order_requests_overview;
drop index concurrently if exists order_requests_customer;
drop index concurrently if exists order_requests_customer_overview;
drop index concurrently if exists postbacks_order;
