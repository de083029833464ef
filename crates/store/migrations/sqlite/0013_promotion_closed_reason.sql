-- Why a request was closed when no decision closed it (e.g. its version was archived).
ALTER TABLE promotions ADD COLUMN closed_reason TEXT;
