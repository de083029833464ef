-- Evidence riskops produced itself (validate, stress): who produced it ('riskops'; NULL for
-- uploaded evidence) and the dataset version it was produced on (NAME@V), for the gates that
-- ask for produced evidence and for lineage (validated_on).
ALTER TABLE evidence ADD COLUMN produced_by TEXT;
ALTER TABLE evidence ADD COLUMN dataset TEXT;
