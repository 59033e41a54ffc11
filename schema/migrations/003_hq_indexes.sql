-- Indexes for the HQ filters: postbacks by event, orders by printer, attempts by outcome.
create index postbacks_event on postbacks (event, created_at desc, id desc);
create index order_requests_printer on order_requests (printer_id, received_at desc, id desc);
create index postback_attempts_outcome on postback_attempts (outcome);
