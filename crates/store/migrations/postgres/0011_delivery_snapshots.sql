-- Each webhook delivery keeps the incident as it was when its event happened (its JSON), so
-- an `incident.acknowledged` sent after the incident was resolved still tells of the
-- acknowledgement. Deliveries queued before this migration have none and send the incident
-- as it is when sent.
ALTER TABLE webhook_deliveries ADD COLUMN incident_json TEXT;
