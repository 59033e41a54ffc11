-- Postbacks that always land: test postbacks (no order) and manual attempt series.

-- A test postback renders a trigger against a sample event: it belongs to no order.
alter table postbacks alter column order_id drop not null;

-- Every resend starts a new attempt series with the schedule from its beginning.
-- series numbers them (0: the scheduled series an event fired; a test postback starts
-- at 1) and names the Temporal workflow that runs one (postback/<id>/<series>);
-- series_base is the attempt count when the current series began, so the schedule
-- position is attempts - series_base while attempt numbers keep counting up.
alter table postbacks add column series integer not null default 0;
alter table postbacks add column series_base integer not null default 0;
