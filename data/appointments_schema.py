"""Tables of delivery and service appointments (schema migration 8).

Kept apart so the appointments owner edits one file; ``data.store.schema``
applies these statements as migration 8. Plain SQL, importing nothing.

- ``item_services``: what an item needs on site (skill, minutes per unit).
- ``crews`` / ``crew_regions``: the resource pools; a crew serves a ZIP3 on a
  weekday (0 = Monday) when a row says so.
- ``appointments``: one visit per order; ``seq`` is the stop's place in the
  crew's day (the insertion-only order, or the routed order after routing).
- ``crew_days``: one row per crew and day with a booking; every booking,
  change or cancellation updates it, so two writers of one crew's day conflict
  and one retries (DuckDB's optimistic concurrency), which is what makes the
  last slot go to exactly one caller. It also keeps the day's drive minutes.
- ``crew_routes``: the routed day's work item per crew (ordered stops, times).
- ``appointment_capacity``: the analysts' view per node and day.
"""

APPOINTMENTS_DESCRIPTION = "appointments: item services, crews, regions, bookings, routes"

APPOINTMENTS_STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE item_services (
        sku TEXT PRIMARY KEY,
        service TEXT NOT NULL CHECK (length(service) >= 1),
        skill TEXT NOT NULL CHECK (length(skill) >= 1),
        minutes BIGINT NOT NULL CHECK (minutes BETWEEN 1 AND 600)
    )
    """,
    """
    CREATE TABLE crews (
        crew_id TEXT PRIMARY KEY CHECK (length(crew_id) BETWEEN 1 AND 64),
        node_id TEXT NOT NULL,
        skills TEXT NOT NULL,
        shift_start BIGINT NOT NULL CHECK (shift_start BETWEEN 0 AND 1440),
        shift_end BIGINT NOT NULL CHECK (shift_end BETWEEN 0 AND 1440)
    )
    """,
    """
    CREATE TABLE crew_regions (
        crew_id TEXT NOT NULL,
        weekday BIGINT NOT NULL CHECK (weekday BETWEEN 0 AND 6),
        zip3 TEXT NOT NULL CHECK (length(zip3) = 3),
        PRIMARY KEY (crew_id, weekday, zip3)
    )
    """,
    """
    CREATE TABLE appointments (
        appointment_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        crew_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        day DATE NOT NULL,
        window_start BIGINT NOT NULL,
        window_end BIGINT NOT NULL,
        zip TEXT NOT NULL,
        lat DOUBLE NOT NULL,
        lon DOUBLE NOT NULL,
        minutes BIGINT NOT NULL CHECK (minutes >= 1),
        skills TEXT NOT NULL,
        seq BIGINT NOT NULL,
        planned_start BIGINT,
        status TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    "CREATE INDEX appointments_by_day ON appointments (node_id, day)",
    "CREATE INDEX appointments_by_order ON appointments (order_id)",
    """
    CREATE TABLE crew_days (
        crew_id TEXT NOT NULL,
        day DATE NOT NULL,
        node_id TEXT NOT NULL,
        version BIGINT NOT NULL DEFAULT 1,
        drive_minutes BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (crew_id, day)
    )
    """,
    """
    CREATE TABLE crew_routes (
        crew_id TEXT NOT NULL,
        day DATE NOT NULL,
        node_id TEXT NOT NULL,
        stops JSON NOT NULL,
        drive_minutes BIGINT NOT NULL,
        insertion_drive_minutes BIGINT NOT NULL,
        routed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE VIEW appointment_capacity AS
    WITH shifts AS (
        SELECT c.node_id, d.day, c.crew_id, c.shift_end - c.shift_start AS shift_minutes
        FROM crews c JOIN (SELECT DISTINCT crew_id, day FROM crew_days) d USING (crew_id)
    ), booked AS (
        SELECT crew_id, day, count(*) AS stops, sum(minutes) AS service_minutes
        FROM appointments WHERE status = 'booked' GROUP BY crew_id, day
    )
    SELECT s.node_id, s.day,
           count(DISTINCT s.crew_id) AS crews_booked,
           coalesce(sum(b.stops), 0)::BIGINT AS appointments,
           round(coalesce(sum(b.service_minutes), 0) / 60.0, 2) AS service_hours,
           round(sum(cd.drive_minutes) / 60.0, 2) AS drive_hours,
           round(sum(s.shift_minutes) / 60.0, 2) AS shift_hours,
           round(sum(s.shift_minutes - coalesce(b.service_minutes, 0) - cd.drive_minutes)
                 / 60.0, 2) AS free_hours,
           round((coalesce(sum(b.service_minutes), 0) + sum(cd.drive_minutes))
                 / sum(s.shift_minutes), 4) AS utilisation
    FROM shifts s
    JOIN crew_days cd USING (crew_id, day)
    LEFT JOIN booked b USING (crew_id, day)
    GROUP BY s.node_id, s.day
    """,
)
