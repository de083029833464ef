-- The model's signature (inputs, outputs, classes) as JSON, read from the artifact when the
-- version is registered (ONNX models); NULL for other frameworks and older versions.
ALTER TABLE model_versions ADD COLUMN signature_json TEXT;
CREATE TRIGGER model_versions_signature_immutable
    BEFORE UPDATE OF signature_json ON model_versions
    FOR EACH ROW EXECUTE FUNCTION registry_versions_immutable();
