-- Requests the API refused for what they carried (malformed or oversize
-- bodies, bad content types, key conflicts, timeouts) are kept in
-- order_requests with status 'rejected' when the customer is known, so the
-- Requests view shows them (GET /v1/admin/requests?status=rejected). They
-- have no workflow (workflow_id ''); rejection holds the problem document
-- the client got, plus the method, path and how much of the body was kept.
alter table order_requests add column rejection jsonb;
