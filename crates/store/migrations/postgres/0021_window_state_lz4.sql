-- A window's state (~300 KB with 20 features) is rewritten by every batch that lands in it.
-- PostgreSQL's default TOAST compression (pglz) spent ~15 ms of CPU on each such write, lz4
-- ~2 ms, and lz4 packs these states as small. Only new values are compressed so: nothing is
-- rewritten now. A server built without lz4, or older than PostgreSQL 14, keeps pglz (the
-- statement runs through EXECUTE so that older servers do not fail to parse it).
DO $$
BEGIN
    EXECUTE 'ALTER TABLE monitoring_windows ALTER COLUMN state SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
    RAISE NOTICE 'window states keep the default compression: %', SQLERRM;
END $$;
