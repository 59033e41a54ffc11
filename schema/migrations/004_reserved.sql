-- Placeholder keeping the numbering contiguous while 005 and 006 are written; replaced before release.
select 1;
