-- How much of each instance's run time has been billed: whole minutes since running_at. A row is
-- done once the instance ended and its last (rounded-up) minute was billed.
CREATE TABLE instance_metering (
    instance_id TEXT PRIMARY KEY,
    metered_minutes BIGINT NOT NULL,
    done BIGINT NOT NULL DEFAULT 0
);
