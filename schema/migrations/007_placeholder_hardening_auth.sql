-- Placeholder so tern sees contiguous numbers on this branch; 007 belongs to another
-- engineer's branch. Delete this file when the real 007 lands (see the hardening-auth report).
select 1;
