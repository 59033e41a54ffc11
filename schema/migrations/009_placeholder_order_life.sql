-- Placeholder so tern sees contiguous numbers on this branch; 009 belongs to
-- the order-life branch. Delete this file when the real 009 lands (see the
-- hq-views report).
select 1;
