-- Where a model served over HTTP is (`riskops model register --endpoint`) and how riskops talks
-- to it (`v2` or `mlflow`); NULL for models whose artifact riskops runs itself. The version's
-- artifact is then the endpoint's descriptor, so its digest covers these too.
ALTER TABLE model_versions ADD COLUMN endpoint_url TEXT;
ALTER TABLE model_versions ADD COLUMN endpoint_protocol TEXT;
CREATE TRIGGER model_versions_endpoint_immutable
    BEFORE UPDATE OF endpoint_url, endpoint_protocol ON model_versions
    FOR EACH ROW EXECUTE FUNCTION registry_versions_immutable();
