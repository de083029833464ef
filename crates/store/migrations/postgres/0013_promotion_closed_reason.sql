-- Why a request was closed when no decision closed it (e.g. its version was archived).
-- The close-only trigger compares the columns that never change; this one is set once,
-- in the update that closes the request.
ALTER TABLE promotions ADD COLUMN closed_reason TEXT;
