-- The durable job queue. A job is claimed with a lease; only the holder of the current lease
-- token may finish it; an expired lease returns it to the queue.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    account_id TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at_ms BIGINT NOT NULL,
    dedupe_key TEXT,
    lease_owner TEXT,
    lease_token TEXT,
    lease_until_ms BIGINT,
    last_error TEXT,
    created_ms BIGINT NOT NULL,
    started_ms BIGINT,
    finished_ms BIGINT
);
CREATE INDEX jobs_due ON jobs (status, run_at_ms);
CREATE INDEX jobs_lease ON jobs (status, lease_until_ms);
-- At most one waiting or running job per dedupe key.
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');

-- Recurring work: the next time each schedule is due, advanced by whoever enqueues it.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY NOT NULL,
    next_run_ms BIGINT NOT NULL
);

-- Probe jobs' effects: a probe measures the queue end to end (and proves exactly-once).
CREATE TABLE job_probes (
    job_id TEXT PRIMARY KEY NOT NULL,
    tag TEXT NOT NULL,
    enqueued_ms BIGINT NOT NULL,
    finished_ms BIGINT NOT NULL
);
