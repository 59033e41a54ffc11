-- Templates a PSP can trust (issue 10): a template version may be strict
-- (an undefined variable is an error), and an order keeps the warnings of
-- its template processing stage ([{line, column, message}]).
alter table template_versions add column if not exists strict boolean not null default false;
alter table order_requests add column if not exists template_warnings jsonb;
